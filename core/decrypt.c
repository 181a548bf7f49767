/* SPDX-License-Identifier: Apache-2.0 */
/* Private-key decryption and key agreement in the TPM: TPM2_RSA_Decrypt and TPM2_ECDH_ZGen.
 * Both return secrets, so they always use an encrypted session for the response. */
#include "key_internal.h"
#include "rsa_scheme.h"
#include "session.h"
#include "tpm.h"
#include "tpm_pub.h"

#include <openssl/crypto.h>
#include <string.h>

typedef struct {
    TPM2B_PUBLIC_KEY_RSA in;
    TPMT_RSA_DECRYPT scheme;
    TPM2B_DATA label;
    TPM2B_PUBLIC_KEY_RSA *out;
} rsa_dec_req;

static devid_rc rsa_decrypt_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    rsa_dec_req *req = arg;
    return DEVID_ESYS("TPM2_RSA_Decrypt", Esys_RSA_Decrypt, ctx, key->tr, session, ESYS_TR_NONE,
                      ESYS_TR_NONE, &req->in, &req->scheme, &req->label, &req->out);
}

devid_rc devid_key_decrypt(devid_key *key, devid_dec_scheme scheme, int md_nid,
                           const unsigned char *label, size_t label_len, const unsigned char *in,
                           size_t inlen, unsigned char *out, size_t *outlen)
{
    if (!key || !outlen || (!in && inlen))
        return devid_fail(DEVID_ERR_ARG, "devid_key_decrypt: NULL argument");
    if (key->type != DEVID_KEY_RSA || !(key->flags & DEVID_KEY_CAN_DECRYPT) ||
        (key->flags & DEVID_KEY_RESTRICTED))
        return devid_fail(DEVID_ERR_KEY_USAGE, "key 0x%08x cannot decrypt", key->handle);
    if (inlen != key->size)
        return devid_fail(DEVID_ERR_ARG, "ciphertext must be %zu bytes, got %zu", key->size, inlen);
    if (!out) {
        *outlen = key->size;
        return DEVID_OK;
    }
    rsa_dec_req req = { .in.size = (UINT16)inlen };
    memcpy(req.in.buffer, in, inlen);
    switch (scheme) {
    case DEVID_DEC_RSA_OAEP: {
        devid_rc rc = devid_rsa_check_oaep(md_nid, md_nid, label_len);
        if (rc != DEVID_OK)
            return rc;
        req.scheme.scheme = TPM2_ALG_OAEP;
        req.scheme.details.oaep.hashAlg = devid_tpm_hash_from_nid(md_nid);
        if (req.scheme.details.oaep.hashAlg == TPM2_ALG_ERROR)
            return devid_fail(DEVID_ERR_UNSUPPORTED, "OAEP with digest %d", md_nid);
        break;
    }
    case DEVID_DEC_RSA_PKCS1:
        req.scheme.scheme = TPM2_ALG_RSAES;
        break;
    case DEVID_DEC_RSA_RAW:
        req.scheme.scheme = TPM2_ALG_NULL;
        break;
    default:
        return devid_fail(DEVID_ERR_ARG, "unknown decryption scheme %d", (int)scheme);
    }
    if (label_len && scheme != DEVID_DEC_RSA_OAEP)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "labels are for OAEP only");
    (void)label; /* OAEP labels are refused (rsa_scheme.h) */
    devid_cmd_shape shape = { .carries_secret = true,
                              .first_in_sized = true,
                              .first_out_sized = true };
    devid_rc rc = devid_key_run(key, shape, rsa_decrypt_op, &req);
    if (rc != DEVID_OK)
        return rc;
    size_t n = req.out->size;
    if (scheme == DEVID_DEC_RSA_RAW)
        n = key->size;
    if (*outlen < n) {
        *outlen = n;
        OPENSSL_cleanse(req.out, sizeof(*req.out));
        Esys_Free(req.out);
        return devid_fail(DEVID_ERR_BUFFER, "plaintext needs %zu bytes", n);
    }
    memset(out, 0, n - req.out->size);
    memcpy(out + n - req.out->size, req.out->buffer, req.out->size);
    *outlen = n;
    OPENSSL_cleanse(req.out, sizeof(*req.out));
    Esys_Free(req.out);
    return DEVID_OK;
}

typedef struct {
    TPM2B_ECC_POINT peer;
    TPM2B_ECC_POINT *z;
} ecdh_req;

static devid_rc ecdh_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    ecdh_req *req = arg;
    return DEVID_ESYS("TPM2_ECDH_ZGen", Esys_ECDH_ZGen, ctx, key->tr, session, ESYS_TR_NONE,
                      ESYS_TR_NONE, &req->peer, &req->z);
}

devid_rc devid_key_ecdh(devid_key *key, const unsigned char *peer, size_t peer_len,
                        unsigned char *secret, size_t *secret_len)
{
    if (!key || !peer || !secret_len)
        return devid_fail(DEVID_ERR_ARG, "devid_key_ecdh: NULL argument");
    if (key->type != DEVID_KEY_EC || !(key->flags & DEVID_KEY_CAN_DECRYPT) ||
        (key->flags & DEVID_KEY_RESTRICTED))
        return devid_fail(DEVID_ERR_KEY_USAGE, "key 0x%08x cannot do ECDH", key->handle);
    size_t n = key->size;
    if (peer_len != 1 + 2 * n || peer[0] != 0x04)
        return devid_fail(DEVID_ERR_ARG, "peer point must be uncompressed, %zu bytes", 1 + 2 * n);
    if (!secret) {
        *secret_len = n;
        return DEVID_OK;
    }
    if (*secret_len < n) {
        *secret_len = n;
        return devid_fail(DEVID_ERR_BUFFER, "shared secret needs %zu bytes", n);
    }
    ecdh_req req = { 0 };
    req.peer.point.x.size = (UINT16)n;
    req.peer.point.y.size = (UINT16)n;
    memcpy(req.peer.point.x.buffer, peer + 1, n);
    memcpy(req.peer.point.y.buffer, peer + 1 + n, n);
    /* ECDH_ZGen's first parameter is a TPM2B_ECC_POINT, the response a TPM2B too */
    devid_cmd_shape shape = { .carries_secret = true,
                              .first_in_sized = true,
                              .first_out_sized = true };
    devid_rc rc = devid_key_run(key, shape, ecdh_op, &req);
    if (rc != DEVID_OK)
        return rc;
    const TPM2B_ECC_PARAMETER *x = &req.z->point.x;
    devid_rc out = DEVID_OK;
    if (x->size > n)
        out = devid_fail(DEVID_ERR_TPM, "oversized ECDH result");
    else {
        memset(secret, 0, n - x->size);
        memcpy(secret + n - x->size, x->buffer, x->size);
        *secret_len = n;
    }
    OPENSSL_cleanse(req.z, sizeof(*req.z));
    Esys_Free(req.z);
    return out;
}

typedef struct random_out {
    unsigned char *buf;
    size_t len;
} random_out;

static devid_rc random_op(ESYS_CONTEXT *ctx, void *arg)
{
    random_out *out = arg;
    devid_rc rc = DEVID_OK;
    for (size_t done = 0; rc == DEVID_OK && done < out->len;) {
        TPM2B_DIGEST *r = NULL;
        UINT16 want = (UINT16)(out->len - done > sizeof(r->buffer) ? sizeof(r->buffer)
                                                                   : out->len - done);
        rc = DEVID_ESYS("TPM2_GetRandom", Esys_GetRandom, ctx, ESYS_TR_NONE, ESYS_TR_NONE,
                        ESYS_TR_NONE, want, &r);
        if (rc == DEVID_OK) {
            memcpy(out->buf + done, r->buffer, r->size);
            done += r->size;
            if (r->size == 0)
                rc = devid_fail(DEVID_ERR_TPM, "TPM2_GetRandom returned nothing");
            Esys_Free(r);
        }
    }
    return rc;
}

devid_rc devid_tpm_random(unsigned char *buf, size_t len)
{
    return devid_tpm_run(random_op, &(random_out){ .buf = buf, .len = len });
}
