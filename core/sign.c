/* SPDX-License-Identifier: Apache-2.0 */
/* Private-key signatures. The TPM signs digests; everything else (hashing, ECDSA digest
 * normalisation, r||s formatting, PKCS#1/PSS encodings for the raw path) is done here. */
#include "key_internal.h"
#include "log.h"
#include "rsa_pad.h"
#include "session.h"
#include "tpm.h"
#include "tpm_caps.h"
#include "tpm_pub.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <string.h>

typedef struct {
    TPM2B_DIGEST digest;
    TPMT_SIG_SCHEME scheme;
    TPMT_SIGNATURE *out;
} sign_req;

static devid_rc tpm_sign_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    sign_req *req = arg;
    TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    return DEVID_ESYS("TPM2_Sign", Esys_Sign, ctx, key->tr, session, ESYS_TR_NONE, ESYS_TR_NONE,
                      &req->digest, &req->scheme, &ticket, &req->out);
}

typedef struct {
    TPM2B_PUBLIC_KEY_RSA in;
    TPM2B_PUBLIC_KEY_RSA *out;
} raw_req;

static devid_rc tpm_raw_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    raw_req *req = arg;
    TPMT_RSA_DECRYPT scheme = { .scheme = TPM2_ALG_NULL };
    TPM2B_DATA label = { 0 };
    return DEVID_ESYS("TPM2_RSA_Decrypt (raw RSA)", Esys_RSA_Decrypt, ctx, key->tr, session,
                      ESYS_TR_NONE, ESYS_TR_NONE, &req->in, &scheme, &label, &req->out);
}

static devid_cmd_shape sign_shape(const devid_key *key)
{
    /* TPM2_Sign: digest in (sized), signature out (not sized). */
    return (devid_cmd_shape){ .carries_secret = key->auth.size > 0, .first_in_sized = true };
}

static devid_rc tpm_sign(devid_key *key, sign_req *req)
{
    req->out = NULL;
    return devid_key_run(key, sign_shape(key), tpm_sign_op, req);
}

/* Raw RSA (the TPM's decryption primitive) needs the decrypt attribute and a null scheme. */
static bool raw_allowed(const devid_key *key)
{
    return (key->flags & DEVID_KEY_CAN_DECRYPT) &&
           key->pub.parameters.rsaDetail.scheme.scheme == TPM2_ALG_NULL;
}

/* Raw RSA private operation on a modulus-size block; the result is left-padded to k bytes. */
static devid_rc tpm_raw_rsa(devid_key *key, const unsigned char *block, unsigned char *sig)
{
    if (!raw_allowed(key))
        return devid_fail(DEVID_ERR_KEY_USAGE,
                          "key 0x%08x does not allow raw RSA (needs the decrypt attribute and a "
                          "null scheme)",
                          key->handle);
    raw_req req = { .in.size = (UINT16)key->size };
    memcpy(req.in.buffer, block, key->size);
    devid_cmd_shape shape = { .carries_secret = key->auth.size > 0,
                              .first_in_sized = true,
                              .first_out_sized = true };
    devid_rc rc = devid_key_run(key, shape, tpm_raw_op, &req);
    if (rc != DEVID_OK)
        return rc;
    if (req.out->size > key->size) {
        Esys_Free(req.out);
        return devid_fail(DEVID_ERR_TPM, "raw RSA result larger than the modulus");
    }
    memset(sig, 0, key->size - req.out->size);
    memcpy(sig + key->size - req.out->size, req.out->buffer, req.out->size);
    Esys_Free(req.out);
    return DEVID_OK;
}

static TPM2_ALG_ID hash_for_size(size_t n)
{
    switch (n) {
    case 20:
        return TPM2_ALG_SHA1;
    case 32:
        return TPM2_ALG_SHA256;
    case 48:
        return TPM2_ALG_SHA384;
    case 64:
        return TPM2_ALG_SHA512;
    default:
        return TPM2_ALG_ERROR;
    }
}

/* TPM2_Sign insists that the digest has the size of the scheme's hash, while ECDSA only uses
 * the integer formed by the leftmost order-length bytes of a digest of any length. Re-express
 * that integer in the size the TPM wants. */
static devid_rc ecdsa_digest(const devid_key *key, const unsigned char *tbs, size_t tbslen,
                             sign_req *req)
{
    const TPMT_ECC_SCHEME *ks = &key->pub.parameters.eccDetail.scheme;
    size_t order = key->size;
    TPM2_ALG_ID hash = ks->scheme == TPM2_ALG_ECDSA ? ks->details.ecdsa.hashAlg
                                                    : hash_for_size(order);
    size_t want = devid_tpm_hash_size(hash);
    if (ks->scheme != TPM2_ALG_NULL && ks->scheme != TPM2_ALG_ECDSA)
        return devid_fail(DEVID_ERR_KEY_USAGE, "key 0x%08x is not an ECDSA key", key->handle);
    if (!want)
        return devid_fail(DEVID_ERR_UNSUPPORTED, "no TPM hash fits the curve of key 0x%08x",
                          key->handle);
    if (tbslen == 0 || tbslen > 64)
        return devid_fail(DEVID_ERR_ARG, "ECDSA input of %zu bytes is not a digest", tbslen);

    unsigned char e[66] = { 0 }; /* the integer, as `order` big-endian bytes */
    size_t used = tbslen < order ? tbslen : order;
    memcpy(e + order - used, tbs, used);

    memset(&req->digest, 0, sizeof(req->digest));
    req->digest.size = (UINT16)want;
    if (want >= order) {
        /* the TPM truncates to the order: put e leftmost, anything to the right */
        memcpy(req->digest.buffer, e, order);
    } else {
        /* the TPM uses all `want` bytes: e must fit in them */
        for (size_t i = 0; i < order - want; i++)
            if (e[i])
                return devid_fail(DEVID_ERR_UNSUPPORTED,
                                  "key 0x%08x is bound to a %zu-byte hash; %zu-byte input does "
                                  "not fit",
                                  key->handle, want, tbslen);
        memcpy(req->digest.buffer, e + order - want, want);
    }
    req->scheme.scheme = TPM2_ALG_ECDSA;
    req->scheme.details.ecdsa.hashAlg = hash;
    return DEVID_OK;
}

static devid_rc sign_ecdsa(devid_key *key, const unsigned char *tbs, size_t tbslen,
                           unsigned char *sig)
{
    sign_req req;
    devid_rc rc = ecdsa_digest(key, tbs, tbslen, &req);
    if (rc == DEVID_OK)
        rc = tpm_sign(key, &req);
    if (rc != DEVID_OK)
        return rc;
    const TPMS_SIGNATURE_ECC *s = &req.out->signature.ecdsa;
    size_t n = key->size;
    if (s->signatureR.size > n || s->signatureS.size > n) {
        Esys_Free(req.out);
        return devid_fail(DEVID_ERR_TPM, "TPM returned an oversized ECDSA signature");
    }
    memset(sig, 0, 2 * n);
    memcpy(sig + n - s->signatureR.size, s->signatureR.buffer, s->signatureR.size);
    memcpy(sig + 2 * n - s->signatureS.size, s->signatureS.buffer, s->signatureS.size);
    Esys_Free(req.out);
    return DEVID_OK;
}

static devid_rc rsa_sig_out(devid_key *key, TPMT_SIGNATURE *out, unsigned char *sig)
{
    const TPM2B_PUBLIC_KEY_RSA *s = &out->signature.rsassa.sig; /* same layout for PSS */
    if (s->size != key->size) {
        Esys_Free(out);
        return devid_fail(DEVID_ERR_TPM, "TPM returned a %u-byte RSA signature for a %zu-byte key",
                          s->size, key->size);
    }
    memcpy(sig, s->buffer, s->size);
    Esys_Free(out);
    return DEVID_OK;
}

static devid_rc tpm_rsa_sign(devid_key *key, TPM2_ALG_ID scheme, int md_nid,
                             const unsigned char *digest, size_t dlen, unsigned char *sig)
{
    TPM2_ALG_ID hash = devid_tpm_hash_from_nid(md_nid);
    if (hash == TPM2_ALG_ERROR || devid_tpm_hash_size(hash) != dlen)
        return devid_fail(DEVID_ERR_ARG, "%zu-byte digest for %s", dlen,
                          md_nid ? OBJ_nid2sn(md_nid) : "no digest");
    sign_req req = { .digest.size = (UINT16)dlen, .scheme.scheme = scheme };
    memcpy(req.digest.buffer, digest, dlen);
    req.scheme.details.any.hashAlg = hash;
    devid_rc rc = tpm_sign(key, &req);
    return rc == DEVID_OK ? rsa_sig_out(key, req.out, sig) : rc;
}

/* Does sig verify as PSS with salt = digest length? The TPM may pick a longer salt
 * (TPM 2.0 Part 1 allows the maximum), which TLS 1.3 peers reject. */
static bool pss_salt_is_digest_len(devid_key *key, int md_nid, const unsigned char *digest,
                                   size_t dlen, const unsigned char *sig)
{
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new_from_pkey(NULL, devid_key_get_public(key),
                                                    DEVID_SW_PROPQ);
    const EVP_MD *md = EVP_get_digestbynid(md_nid);
    bool ok = vctx && md && EVP_PKEY_verify_init(vctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_signature_md(vctx, md) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(vctx, (int)dlen) == 1 &&
              EVP_PKEY_verify(vctx, sig, key->size, digest, dlen) == 1;
    EVP_PKEY_CTX_free(vctx);
    return ok;
}

/* TPM2_Sign with a hash the TPM does not implement fails (TPM_RC_HASH): *has_hash says
 * whether to ask it; if not, the key must allow raw RSA (the encoding is then done here). */
static devid_rc tpm_hash_or_raw(devid_key *key, int md_nid, size_t dlen, bool *has_hash)
{
    TPM2_ALG_ID hash = devid_tpm_hash_from_nid(md_nid);
    if (hash == TPM2_ALG_ERROR || devid_tpm_hash_size(hash) != dlen)
        return devid_fail(DEVID_ERR_ARG, "%zu-byte digest for %s", dlen,
                          md_nid ? OBJ_nid2sn(md_nid) : "no digest");
    devid_rc rc = devid_tpm_hash_implemented(md_nid, has_hash);
    if (rc != DEVID_OK || *has_hash || raw_allowed(key))
        return rc;
    return devid_fail(DEVID_ERR_UNSUPPORTED,
                      "the TPM does not implement %s, and RSA key 0x%08x does not allow raw RSA "
                      "(decrypt attribute and null scheme) to encode the signature in software",
                      OBJ_nid2sn(md_nid), key->handle);
}

static devid_rc sign_rsa_pss(devid_key *key, int md_nid, const unsigned char *digest, size_t dlen,
                             unsigned char *sig)
{
    bool raw_ok = raw_allowed(key);
    bool has_hash = false;
    devid_rc rc = tpm_hash_or_raw(key, md_nid, dlen, &has_hash);
    if (rc != DEVID_OK)
        return rc;
    if (has_hash && (key->flags & DEVID_KEY_CAN_SIGN)) {
        rc = tpm_rsa_sign(key, TPM2_ALG_RSAPSS, md_nid, digest, dlen, sig);
        if (rc == DEVID_OK && pss_salt_is_digest_len(key, md_nid, digest, dlen, sig))
            return DEVID_OK;
        if (rc == DEVID_OK && !raw_ok)
            return devid_fail(DEVID_ERR_UNSUPPORTED,
                              "the TPM signs PSS with a salt other than the digest length and "
                              "key 0x%08x does not allow raw RSA",
                              key->handle);
        if (rc != DEVID_OK && rc != DEVID_ERR_UNSUPPORTED && rc != DEVID_ERR_KEY_USAGE)
            return rc;
    }
    if (!raw_ok)
        return rc != DEVID_OK ? rc : devid_fail(DEVID_ERR_KEY_USAGE, "key cannot sign PSS");
    unsigned char em[512];
    rc = devid_rsa_pad_pss(md_nid, digest, dlen, key->bits, em, key->size);
    if (rc == DEVID_OK)
        rc = tpm_raw_rsa(key, em, sig);
    OPENSSL_cleanse(em, sizeof(em));
    return rc;
}

static devid_rc sign_rsa_pkcs1(devid_key *key, int md_nid, const unsigned char *tbs, size_t tbslen,
                               unsigned char *sig)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    size_t dlen = 0;
    if (md_nid == NID_undef &&
        devid_rsa_parse_digestinfo(tbs, tbslen, &md_nid, digest, &dlen) == DEVID_OK) {
        tbs = digest;
        tbslen = dlen;
    }
    unsigned char info[128]; /* the DigestInfo of a hash the TPM lacks */
    if (md_nid != NID_undef && (key->flags & DEVID_KEY_CAN_SIGN)) {
        bool has_hash = false;
        devid_rc rc = tpm_hash_or_raw(key, md_nid, tbslen, &has_hash);
        if (rc != DEVID_OK || has_hash)
            return rc == DEVID_OK ? tpm_rsa_sign(key, TPM2_ALG_RSASSA, md_nid, tbs, tbslen, sig)
                                  : rc;
        size_t infolen = 0;
        if ((rc = devid_rsa_digestinfo(md_nid, tbs, tbslen, info, sizeof(info), &infolen)) !=
            DEVID_OK)
            return rc;
        tbs = info;
        tbslen = infolen;
    } else if (md_nid != NID_undef) {
        return devid_fail(DEVID_ERR_KEY_USAGE, "key 0x%08x cannot sign", key->handle);
    }
    /* A hash the TPM lacks, or no recognised digest (e.g. TLS 1.0's MD5+SHA1): pad here, raw
     * RSA in the TPM. */
    unsigned char em[512];
    devid_rc rc = devid_rsa_pad_pkcs1(tbs, tbslen, em, key->size);
    if (rc == DEVID_OK)
        rc = tpm_raw_rsa(key, em, sig);
    return rc;
}

devid_rc devid_key_sign(devid_key *key, devid_sig_scheme scheme, int md_nid,
                        const unsigned char *tbs, size_t tbslen, unsigned char *sig, size_t *siglen)
{
    if (!key || !siglen || (!tbs && tbslen))
        return devid_fail(DEVID_ERR_ARG, "devid_key_sign: NULL argument");
    size_t need = devid_key_sig_size(key);
    if (!sig) {
        *siglen = need;
        return DEVID_OK;
    }
    if (*siglen < need) {
        *siglen = need;
        return devid_fail(DEVID_ERR_BUFFER, "signature needs %zu bytes", need);
    }
    if (key->type == DEVID_KEY_HMAC)
        return devid_fail(DEVID_ERR_KEY_USAGE, "an HMAC key signs with devid_key_hmac");
    if (key->flags & DEVID_KEY_RESTRICTED)
        return devid_fail(DEVID_ERR_KEY_USAGE,
                          "key 0x%08x is restricted (an attestation key): it only signs "
                          "TPM-generated data",
                          key->handle);
    bool is_ec = key->type == DEVID_KEY_EC;
    if (is_ec != (scheme == DEVID_SIG_ECDSA))
        return devid_fail(DEVID_ERR_KEY_USAGE, "scheme does not match the %s key 0x%08x",
                          is_ec ? "EC" : "RSA", key->handle);
    if (scheme != DEVID_SIG_RSA_RAW && scheme != DEVID_SIG_RSA_PKCS1 &&
        !(key->flags & DEVID_KEY_CAN_SIGN))
        return devid_fail(DEVID_ERR_KEY_USAGE, "key 0x%08x is not a signing key", key->handle);

    devid_rc rc;
    switch (scheme) {
    case DEVID_SIG_ECDSA:
        rc = sign_ecdsa(key, tbs, tbslen, sig);
        break;
    case DEVID_SIG_RSA_PKCS1:
        rc = sign_rsa_pkcs1(key, md_nid, tbs, tbslen, sig);
        break;
    case DEVID_SIG_RSA_PSS:
        rc = sign_rsa_pss(key, md_nid, tbs, tbslen, sig);
        break;
    case DEVID_SIG_RSA_RAW:
        if (tbslen != key->size)
            return devid_fail(DEVID_ERR_ARG, "raw RSA input must be %zu bytes, got %zu", key->size,
                              tbslen);
        rc = tpm_raw_rsa(key, tbs, sig);
        break;
    default:
        return devid_fail(DEVID_ERR_ARG, "unknown signature scheme %d", (int)scheme);
    }
    if (rc == DEVID_OK)
        *siglen = need;
    return rc;
}

devid_rc devid_key_sign_hash_ok(devid_key *key, devid_sig_scheme scheme, int md_nid, bool *ok)
{
    if (!key || !ok)
        return devid_fail(DEVID_ERR_ARG, "devid_key_sign_hash_ok: NULL argument");
    *ok = true;
    if (key->type != DEVID_KEY_RSA || scheme == DEVID_SIG_RSA_RAW || md_nid == NID_undef)
        return DEVID_OK; /* ECDSA re-expresses any digest; raw RSA has none */
    devid_rc rc = devid_tpm_hash_implemented(md_nid, ok);
    if (rc == DEVID_OK && !*ok)
        *ok = raw_allowed(key);
    return rc;
}
