/* SPDX-License-Identifier: Apache-2.0 */
/* TPM2_Certify of a key by the IAK (attest.h). The TPM's answer is checked before it is
 * handed on: a verifier will trust it, so core must not pass on something it did not ask for. */
#include "attest.h"
#include "key_internal.h"
#include "tpm.h"
#include "tpm_pub.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_mu.h>

typedef struct {
    devid_key *iak;
    TPM2B_DATA qualifying;
    TPM2B_ATTEST *attest;
    TPMT_SIGNATURE *sig;
} certify_req;

static devid_rc certify_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    certify_req *req = arg;
    devid_rc rc = devid_key_bind(ctx, req->iak);
    if (rc != DEVID_OK)
        return rc;
    /* a null scheme: the IAK's own (its template fixes it) */
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_NULL };
    return DEVID_ESYS("TPM2_Certify", Esys_Certify, ctx, key->tr, req->iak->tr, session,
                      ESYS_TR_PASSWORD, ESYS_TR_NONE, &req->qualifying, &scheme, &req->attest,
                      &req->sig);
}

static devid_rc dup_bytes(const void *src, size_t len, unsigned char **out, size_t *outlen)
{
    *out = malloc(len ? len : 1);
    if (!*out)
        return devid_fail(DEVID_ERR_MEMORY, "out of memory");
    memcpy(*out, src, len);
    *outlen = len;
    return DEVID_OK;
}

/* The TPM's statement must be a certify of this key's name carrying our qualifying data. */
static devid_rc check_attest(const TPM2B_ATTEST *a, const devid_key *key, const TPM2B_DATA *q)
{
    TPMS_ATTEST st;
    size_t off = 0;
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(a->attestationData, a->size, &off, &st) != TSS2_RC_SUCCESS ||
        off != a->size)
        return devid_fail(DEVID_ERR_TPM, "TPM2_Certify returned a malformed TPMS_ATTEST");
    if (st.magic != TPM2_GENERATED_VALUE || st.type != TPM2_ST_ATTEST_CERTIFY)
        return devid_fail(DEVID_ERR_TPM, "TPM2_Certify returned something other than a "
                                         "certification");
    if (st.extraData.size != q->size || memcmp(st.extraData.buffer, q->buffer, q->size) != 0)
        return devid_fail(DEVID_ERR_TPM, "TPM2_Certify: extraData is not the qualifying data");
    /* the name, from the public area core holds: nameAlg || H(TPMT_PUBLIC) */
    unsigned char pub[sizeof(TPMT_PUBLIC)], name[2 + EVP_MAX_MD_SIZE];
    size_t publen = 0;
    unsigned int mdlen = 0;
    const EVP_MD *md = EVP_get_digestbynid(devid_tpm_hash_to_nid(key->pub.nameAlg));
    name[0] = (unsigned char)(key->pub.nameAlg >> 8);
    name[1] = (unsigned char)key->pub.nameAlg;
    if (!md ||
        Tss2_MU_TPMT_PUBLIC_Marshal(&key->pub, pub, sizeof(pub), &publen) != TSS2_RC_SUCCESS ||
        EVP_Digest(pub, publen, name + 2, &mdlen, md, NULL) != 1)
        return devid_fail(DEVID_ERR_INTERNAL, "computing the key's name");
    const TPM2B_NAME *n = &st.attested.certify.name;
    if (n->size != 2 + mdlen || memcmp(n->name, name, n->size) != 0)
        return devid_fail(DEVID_ERR_TPM, "TPM2_Certify certified another object");
    return DEVID_OK;
}

static devid_rc sig_to_der(const TPMT_SIGNATURE *s, devid_certification *out)
{
    if (s->sigAlg == TPM2_ALG_RSASSA || s->sigAlg == TPM2_ALG_RSAPSS)
        return dup_bytes(s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size,
                         &out->sig_der, &out->sig_der_len);
    if (s->sigAlg != TPM2_ALG_ECDSA)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "IAK signature algorithm 0x%04x", s->sigAlg);
    const TPMS_SIGNATURE_ECC *e = &s->signature.ecdsa;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(e->signatureR.buffer, e->signatureR.size, NULL);
    BIGNUM *sv = BN_bin2bn(e->signatureS.buffer, e->signatureS.size, NULL);
    if (!sig || !r || !sv || ECDSA_SIG_set0(sig, r, sv) != 1) {
        BN_free(r);
        BN_free(sv);
        ECDSA_SIG_free(sig);
        return devid_fail(DEVID_ERR_MEMORY, "out of memory");
    }
    unsigned char *der = NULL;
    int len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    if (len <= 0)
        return devid_fail(DEVID_ERR_INTERNAL, "encoding the ECDSA signature");
    devid_rc rc = dup_bytes(der, (size_t)len, &out->sig_der, &out->sig_der_len);
    OPENSSL_free(der);
    return rc;
}

static devid_rc marshal_outputs(const TPMT_SIGNATURE *sig, const TPMT_PUBLIC *pub,
                                devid_certification *out)
{
    unsigned char buf[sizeof(TPMT_SIGNATURE) + sizeof(TPMT_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(sig, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return devid_fail(DEVID_ERR_INTERNAL, "marshalling the signature");
    devid_rc rc = dup_bytes(buf, off, &out->signature, &out->signature_len);
    off = 0;
    if (rc == DEVID_OK &&
        Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        rc = devid_fail(DEVID_ERR_INTERNAL, "marshalling the public area");
    if (rc == DEVID_OK)
        rc = dup_bytes(buf, off, &out->public_area, &out->public_len);
    return rc;
}

devid_rc devid_certify(devid_key *iak, devid_key *key, const unsigned char *qualifying,
                       size_t qualifying_len, devid_certification *out)
{
    if (!out)
        return devid_fail(DEVID_ERR_ARG, "devid_certify: NULL argument");
    memset(out, 0, sizeof(*out));
    if (!iak || !key || (!qualifying && qualifying_len))
        return devid_fail(DEVID_ERR_ARG, "devid_certify: NULL argument");
    if (qualifying_len > DEVID_CERTIFY_QUALIFYING_MAX)
        return devid_fail(DEVID_ERR_ARG, "qualifying data of %zu bytes: at most %d", qualifying_len,
                          DEVID_CERTIFY_QUALIFYING_MAX);
    if (!(iak->flags & DEVID_KEY_RESTRICTED) || !(iak->flags & DEVID_KEY_CAN_SIGN))
        return devid_fail(DEVID_ERR_KEY_USAGE,
                          "key 0x%08x is not a restricted signing key: "
                          "it cannot certify",
                          iak->handle);
    if (iak->auth.size)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "an IAK with an auth value");
    certify_req req = { .iak = iak, .qualifying.size = (UINT16)qualifying_len };
    if (qualifying_len)
        memcpy(req.qualifying.buffer, qualifying, qualifying_len);
    /* Certify: qualifyingData in (sized), certifyInfo out (sized); the key's auth value (if
     * any) authorises the ADMIN role on it, so it takes the session policy's session */
    devid_cmd_shape shape = { .carries_secret = key->auth.size > 0,
                              .first_in_sized = true,
                              .first_out_sized = true };
    devid_rc rc = devid_key_run(key, shape, certify_op, &req);
    if (rc == DEVID_OK)
        rc = check_attest(req.attest, key, &req.qualifying);
    if (rc == DEVID_OK)
        rc = dup_bytes(req.attest->attestationData, req.attest->size, &out->attest,
                       &out->attest_len);
    if (rc == DEVID_OK)
        rc = sig_to_der(req.sig, out);
    if (rc == DEVID_OK)
        rc = marshal_outputs(req.sig, &key->pub, out);
    Esys_Free(req.attest);
    Esys_Free(req.sig);
    if (rc != DEVID_OK)
        devid_certification_clear(out);
    return rc;
}

void devid_certification_clear(devid_certification *c)
{
    if (!c)
        return;
    free(c->attest);
    free(c->signature);
    free(c->sig_der);
    free(c->public_area);
    memset(c, 0, sizeof(*c));
}
