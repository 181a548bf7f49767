#include "pop.h"
#include "est_msg.h"
#include "log.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

static const char *version_name(int v)
{
    return v == TLS1_3_VERSION ? "TLS 1.3" : v == TLS1_2_VERSION ? "TLS 1.2" : "an unknown version";
}

devid_rc est_pop_attempt(void *arg, est_reply *reply)
{
    const est_pop_request *r = arg;
    memset(reply, 0, sizeof(*reply));
    est_conn *conn = NULL;
    devid_rc rc = est_conn_open(r->cfg, true, &conn);
    if (rc != DEVID_OK)
        return rc;
    /* the handshake, with a request servers answer anyway (RFC 7030 4.5) */
    rc = est_conn_request(conn, EST_CSRATTRS, NULL, 0, false, reply);
    if (rc != DEVID_OK || reply->http_status == 0) {
        if (rc == DEVID_OK && reply->outcome == EST_FAILED) {
            size_t n = strlen(reply->detail);
            snprintf(reply->detail + n, sizeof(reply->detail) - n, "%s",
                     " [this connection was limited to TLS 1.2: proof-of-possession needs "
                     "tls-unique, which TLS 1.3 does not have]");
        }
        est_conn_close(conn);
        return rc;
    }
    const unsigned char *binding = NULL;
    size_t len = 0;
    int version = 0;
    est_conn_tls_unique(conn, &binding, &len, &version);
    if (version != TLS1_2_VERSION || len == 0 || len > 48) {
        est_reply_clear(reply);
        reply->outcome = EST_FAILED;
        snprintf(reply->detail, sizeof(reply->detail),
                 "proof-of-possession: the connection uses %s, which has no tls-unique",
                 version_name(version));
        est_conn_close(conn);
        return DEVID_OK;
    }
    unsigned char bound[48];
    size_t bound_len = len;
    char challenge[72];
    memcpy(bound, binding, len);
    EVP_EncodeBlock((unsigned char *)challenge, bound, (int)len);
    unsigned char *csr = NULL;
    size_t csr_len = 0;
    rc = est_build_csr(r->key, r->subject, r->like, r->md_nid, challenge, &csr, &csr_len);
    est_reply_clear(reply);
    if (rc == DEVID_OK) {
        devid_debug("proof-of-possession: CSR bound to the TLS 1.2 connection (tls-unique, "
                    "%zu bytes)", len);
        rc = est_conn_request(conn, r->op, csr, csr_len, true, reply);
    }
    OPENSSL_free(csr);
    if (rc == DEVID_OK && reply->outcome == EST_DONE) {
        /* it went on the connection whose binding it carries (the server checks too) */
        est_conn_tls_unique(conn, &binding, &len, &version);
        if (len != bound_len || memcmp(binding, bound, len) != 0) {
            est_reply_clear(reply);
            reply->outcome = EST_FAILED;
            snprintf(reply->detail, sizeof(reply->detail),
                     "proof-of-possession: the answer came over another TLS connection");
        }
    }
    est_conn_close(conn);
    return rc;
}
