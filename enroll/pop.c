/* SPDX-License-Identifier: Apache-2.0 */
#include "pop.h"
#include "est_msg.h"
#include "log.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

static const char *binding_name(int v)
{
    return v == TLS1_3_VERSION ? "tls-exporter (TLS 1.3)" : "tls-unique (TLS 1.2)";
}

/* The CSR bound to the connection the last request went on, posted on it. */
static devid_rc bound_post(const est_pop_request *r, est_reply *reply)
{
    const unsigned char *binding = NULL;
    size_t len = 0;
    int version = 0;
    est_conn_binding(r->conn, &binding, &len, &version);
    if ((version != TLS1_2_VERSION && version != TLS1_3_VERSION) || len == 0 || len > 48) {
        memset(reply, 0, sizeof(*reply));
        reply->retry_after = -1;
        reply->outcome = EST_FAILED;
        snprintf(reply->detail, sizeof(reply->detail),
                 "proof-of-possession: the connection has no channel binding");
        return DEVID_OK;
    }
    unsigned char bound[48];
    size_t bound_len = len;
    char challenge[72];
    memcpy(bound, binding, len);
    EVP_EncodeBlock((unsigned char *)challenge, bound, (int)len);
    unsigned char *csr = NULL;
    size_t csr_len = 0;
    devid_rc rc = est_build_csr(r->key, r->subject, r->like, r->md_nid, challenge, r->evidence,
                                r->evidence_len, &csr, &csr_len);
    if (rc == DEVID_OK) {
        devid_debug("proof-of-possession: CSR bound to the connection (%s, %zu bytes)",
                    binding_name(version), len);
        rc = est_conn_request(r->conn, r->op, csr, csr_len, EST_REQ_BOUND | EST_REQ_LAST, reply);
    }
    OPENSSL_free(csr);
    if (rc == DEVID_OK && reply->outcome == EST_DONE) {
        /* it went on the connection whose binding it carries (the server checks too) */
        est_conn_binding(r->conn, &binding, &len, &version);
        if (len != bound_len || memcmp(binding, bound, len) != 0) {
            est_reply_clear(reply);
            reply->outcome = EST_FAILED;
            snprintf(reply->detail, sizeof(reply->detail),
                     "proof-of-possession: the answer came over another TLS connection");
        }
    }
    return rc;
}

devid_rc est_pop_attempt(void *arg, est_reply *reply)
{
    const est_pop_request *r = arg;
    memset(reply, 0, sizeof(*reply));
    devid_rc rc = DEVID_OK;
    for (int round = 0; round < 2; round++) {
        if (round > 0 || !est_conn_alive(r->conn)) {
            /* the handshake, with a request servers answer anyway (RFC 7030 4.5) */
            rc = est_conn_request(r->conn, EST_CSRATTRS, NULL, 0, 0, reply);
            if (rc != DEVID_OK || reply->http_status == 0)
                return rc;
            est_reply_clear(reply);
        }
        rc = bound_post(r, reply);
        if (rc != DEVID_OK || !reply->not_sent || round > 0)
            return rc;
        devid_info("proof-of-possession: the server closed the connection before the request "
                   "bound to it went out; once more on a new connection");
        est_reply_clear(reply);
    }
    return rc;
}
