/* SPDX-License-Identifier: Apache-2.0 */
/* The EK-attested factory exchange, device side (factory_attest.h). The TPM work is core's
 * (devid_certify, devid_activate_credential); this file sequences it with the CA's two
 * answers and decides what is stored. */
#include "factory_attest.h"
#include "attest_msg.h"
#include "factory_iak.h"
#include "factory_record.h"

#include "devid.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    devid_identity *ek;
    devid_key *iak, *idevid;
    unsigned char *ek_der;
    int ek_der_len;
    unsigned char nonce[ATTEST_NONCE_MAX];
    size_t nonce_len;
    devid_certification cert;
    unsigned char *iak_public;
    size_t iak_public_len;
    X509 *iak_cert;
} attest_state;

static void state_free(attest_state *s)
{
    devid_identity_free(s->ek);
    devid_key_free(s->iak);
    devid_key_free(s->idevid);
    OPENSSL_free(s->ek_der);
    devid_certification_clear(&s->cert);
    free(s->iak_public);
    X509_free(s->iak_cert);
}

/* The EK (RSA, else ECC) with its certificate, the IAK and the IDevID key. */
static devid_rc open_keys(attest_state *s)
{
    const devid_config *cfg = devid_core_config();
    devid_rc rc = DEVID_ERR_NOT_FOUND;
    static const devid_map_id eks[] = { DEVID_MAP_EK_RSA, DEVID_MAP_EK_ECC };
    for (size_t i = 0; i < 2 && rc != DEVID_OK; i++) {
        devid_identity_free(s->ek);
        s->ek = NULL;
        if (!cfg->map[eks[i]].key_handle)
            continue;
        rc = devid_identity_load(eks[i], &s->ek);
        if (rc == DEVID_OK && (!s->ek->key || !s->ek->cert))
            rc = DEVID_ERR_NOT_FOUND;
    }
    if (rc == DEVID_ERR_NO_TPM)
        return rc; /* (its message stands) */
    devid_clear_error();
    if (rc != DEVID_OK)
        return devid_fail(DEVID_ERR_NOT_FOUND, "attested factory mode needs the TPM's EK and "
                                               "its certificate (NV), and there is none");
    s->ek_der_len = i2d_X509(s->ek->cert, &s->ek_der);
    if (s->ek_der_len <= 0)
        return devid_fail(DEVID_ERR_INTERNAL, "encoding the EK certificate");
    const devid_map_entry *iak = &cfg->map[DEVID_MAP_IAK];
    if (!iak->key_handle)
        return devid_fail(DEVID_ERR_CONFIG, "attested factory mode needs the IAK, which the "
                                            "configuration disables");
    rc = devid_key_open_persistent(iak->key_handle, &s->iak);
    if (rc == DEVID_OK)
        rc = devid_key_open_persistent(cfg->map[DEVID_MAP_IDEVID].key_handle, &s->idevid);
    if (rc == DEVID_OK)
        rc = devid_key_public_area(s->iak, &s->iak_public, &s->iak_public_len);
    return rc;
}

static devid_rc get_nonce(est_conn *conn, attest_state *s)
{
    est_reply reply;
    devid_rc rc = est_conn_request(conn, EST_ATTEST_NONCE, NULL, 0, 0, &reply);
    if (rc == DEVID_OK && reply.outcome != EST_DONE)
        rc = enroll_reply_error(&reply, "attest-nonce");
    if (rc == DEVID_OK &&
        (reply.csrattrs_len < ATTEST_NONCE_MIN || reply.csrattrs_len > ATTEST_NONCE_MAX))
        rc = devid_fail(DEVID_ERR_FORMAT, "attest-nonce: a nonce of %zu bytes (want %d to %d)",
                        reply.csrattrs_len, ATTEST_NONCE_MIN, ATTEST_NONCE_MAX);
    if (rc == DEVID_OK) {
        memcpy(s->nonce, reply.csrattrs, reply.csrattrs_len);
        s->nonce_len = reply.csrattrs_len;
    }
    est_reply_clear(&reply);
    return rc;
}

static devid_rc post_request(enroll_ctx *ctx, est_conn *conn, attest_state *s, EVP_PKEY *idevid_pub,
                             const X509_NAME *subject, est_reply *reply)
{
    unsigned char *csr = NULL, *der = NULL;
    size_t csr_len = 0, der_len = 0;
    devid_rc rc = est_build_csr(idevid_pub, subject, NULL, ctx->wishes.md_nid, NULL, NULL, 0, &csr,
                                &csr_len);
    if (rc == DEVID_OK) {
        attest_request req = {
            .nonce = { s->nonce, s->nonce_len },
            .ek_cert = { s->ek_der, (size_t)s->ek_der_len },
            .iak_public = { s->iak_public, s->iak_public_len },
            .idevid_public = { s->cert.public_area, s->cert.public_len },
            .certify_info = { s->cert.attest, s->cert.attest_len },
            .certify_signature = { s->cert.signature, s->cert.signature_len },
            .csr = { csr, csr_len },
        };
        rc = attest_request_encode(&req, &der, &der_len);
    }
    if (rc == DEVID_OK)
        rc = est_conn_request(conn, EST_ATTEST_ENROLL, der, der_len, EST_REQ_LAST, reply);
    if (rc == DEVID_OK && reply->outcome != EST_DONE) {
        rc = enroll_reply_error(reply, "attest-enroll");
        est_reply_clear(reply);
    }
    OPENSSL_free(csr);
    OPENSSL_free(der);
    return rc;
}

/* The credential, activated by the TPM, opens the certificates; it is wiped after. */
static devid_rc open_answer(attest_state *s, const est_reply *reply, X509 **idevid_cert,
                            STACK_OF(X509) **chain)
{
    attest_response resp;
    devid_rc rc = attest_response_parse(reply->csrattrs, reply->csrattrs_len, &resp);
    if (rc != DEVID_OK)
        return rc;
    unsigned char credential[DEVID_CREDENTIAL_MAX];
    size_t cred_len = 0;
    rc = devid_activate_credential(s->iak, s->ek->key, resp.credential_blob,
                                   resp.credential_blob_len, resp.encrypted_secret,
                                   resp.encrypted_secret_len, credential, &cred_len);
    if (rc == DEVID_ERR_TPM || rc == DEVID_ERR_FORMAT)
        rc = devid_fail(DEVID_ERR_AUTH,
                        "the CA's credential does not activate on this TPM "
                        "(not made for this TPM's EK and IAK): %s",
                        devid_last_error());
    if (rc == DEVID_OK && cred_len != ATTEST_KEY_LEN)
        rc = devid_fail(DEVID_ERR_FORMAT, "the activated credential has %zu bytes, not %d",
                        cred_len, ATTEST_KEY_LEN);
    if (rc == DEVID_OK)
        rc = attest_certs_open(credential, &resp, s->nonce, s->nonce_len, &s->iak_cert, idevid_cert,
                               chain);
    OPENSSL_cleanse(credential, sizeof(credential));
    attest_response_clear(&resp);
    return rc;
}

static devid_rc check_certs(enroll_ctx *ctx, attest_state *s, EVP_PKEY *idevid_pub,
                            X509 *idevid_cert, STACK_OF(X509) *chain)
{
    EVP_PKEY *iak_pub = devid_key_get_public(s->iak);
    if (!iak_pub || EVP_PKEY_eq(X509_get0_pubkey(s->iak_cert), iak_pub) != 1)
        return devid_fail(DEVID_ERR_FORMAT, "the CA's IAK certificate is not for this IAK");
    if (EVP_PKEY_eq(X509_get0_pubkey(idevid_cert), idevid_pub) != 1)
        return devid_fail(DEVID_ERR_FORMAT, "the CA's IDevID certificate is not for this "
                                            "IDevID key");
    devid_rc rc = enroll_verify_issued(ctx, s->iak_cert, chain);
    if (rc == DEVID_OK)
        rc = enroll_verify_issued(ctx, idevid_cert, chain);
    return rc;
}

static devid_rc store_iak_cert(attest_state *s)
{
    uint32_t index = devid_core_config()->map[DEVID_MAP_IAK].cert_nv;
    if (!index)
        return DEVID_OK; /* no NV index for it configured: not kept */
    unsigned char *der = NULL;
    int len = i2d_X509(s->iak_cert, &der);
    devid_rc rc = len > 0 ? devid_nv_write_cert(index, der, (size_t)len, true)
                          : devid_fail(DEVID_ERR_INTERNAL, "encoding the IAK certificate");
    OPENSSL_free(der);
    if (rc == DEVID_OK)
        printf("IAK: certificate issued on the EK's attestation\n  stored:  NV 0x%08x\n", index);
    return rc;
}

devid_rc factory_attested_enroll(enroll_ctx *ctx, EVP_PKEY *idevid_pub, const X509_NAME *subject,
                                 X509 **idevid_cert, STACK_OF(X509) **chain)
{
    attest_state s = { 0 };
    est_conn *conn = NULL;
    est_reply reply = { 0 };
    *idevid_cert = NULL;
    *chain = NULL;
    devid_rc rc = open_keys(&s);
    if (rc == DEVID_OK)
        rc = enroll_ctx_conn(ctx, &conn);
    if (rc == DEVID_OK)
        rc = get_nonce(conn, &s);
    if (rc == DEVID_OK)
        rc = devid_certify(s.iak, s.idevid, s.nonce, s.nonce_len, &s.cert);
    if (rc == DEVID_OK)
        rc = post_request(ctx, conn, &s, idevid_pub, subject, &reply);
    if (rc == DEVID_OK)
        rc = open_answer(&s, &reply, idevid_cert, chain);
    est_reply_clear(&reply);
    if (rc == DEVID_OK)
        rc = check_certs(ctx, &s, idevid_pub, *idevid_cert, *chain);
    /* before NV: a crash leaves a record of no certificate, never a certificate unrecorded */
    if (rc == DEVID_OK)
        rc = factory_record_write(s.iak_cert);
    if (rc == DEVID_OK)
        rc = factory_record_write(*idevid_cert);
    factory_crash_point("factory-attest-before-nv");
    if (rc == DEVID_OK)
        rc = store_iak_cert(&s);
    if (rc == DEVID_OK)
        factory_crash_point("factory-attest-after-iak-nv");
    if (rc != DEVID_OK) {
        X509_free(*idevid_cert);
        sk_X509_pop_free(*chain, X509_free);
        *idevid_cert = NULL;
        *chain = NULL;
    }
    state_free(&s);
    return rc;
}
