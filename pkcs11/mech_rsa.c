/* SPDX-License-Identifier: Apache-2.0 */
/* RSA mechanisms. Private-key operations are core's (the TPM's): PKCS#1 v1.5 and PSS
 * signatures, raw RSA (X.509), decryption. Public-key operations (verification, encryption)
 * are software on the public key. */
#include "p11.h"

#include <openssl/err.h>
#include <openssl/rsa.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static size_t modulus_len(const p11_op *op)
{
    return ((size_t)EVP_PKEY_get_bits(p11_op_pub(op)) + 7) / 8;
}

/* ---- parameters ------------------------------------------------------------------------------ */

/* Hashes the TPM's RSA schemes take: no SHA-224 (TPMs do not implement it), so PSS and OAEP
 * with it are refused at *Init, and no SHA224 RSA mechanism is offered. */
static bool tpm_hash(int nid)
{
    return nid == NID_sha1 || nid == NID_sha256 || nid == NID_sha384 || nid == NID_sha512;
}

/* The TPM signs PSS with salt = digest length and MGF1 over the same hash (what TLS 1.3
 * uses); other choices are refused rather than silently changed. */
static CK_RV pss_param(p11_op *op, const CK_MECHANISM *m)
{
    CK_RV rv = p11_mech_param(m, sizeof(CK_RSA_PKCS_PSS_PARAMS));
    if (rv != CKR_OK)
        return rv;
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    int nid = p11_md_nid(p->hashAlg);
    int salt_len = p->sLen > INT_MAX ? INT_MAX : (int)p->sLen;
    if (!tpm_hash(nid) || (op->mech->hash_nid && nid != op->mech->hash_nid) ||
        devid_rsa_check_pss(nid, p11_mgf_nid(p->mgf), salt_len) != DEVID_OK)
        return CKR_MECHANISM_PARAM_INVALID;
    op->md_nid = nid;
    op->mgf_nid = nid;
    op->salt_len = p->sLen;
    return CKR_OK;
}

static CK_RV oaep_param(p11_op *op, const CK_MECHANISM *m)
{
    CK_RV rv = p11_mech_param(m, sizeof(CK_RSA_PKCS_OAEP_PARAMS));
    if (rv != CKR_OK)
        return rv;
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    int nid = p11_md_nid(p->hashAlg);
    if (!tpm_hash(nid))
        return CKR_MECHANISM_PARAM_INVALID; /* no SHA-224 in the TPM */
    if (p->source != CKZ_DATA_SPECIFIED && (p->source != 0 || p->ulSourceDataLen))
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSourceDataLen && (!p->pSourceData || p->ulSourceDataLen > 1024))
        return CKR_MECHANISM_PARAM_INVALID;
    /* core's limits (one hash for both, no label for TPM decryption) say so at once;
     * encryption in software takes any label */
    size_t label_len = op->purpose == CKF_DECRYPT ? p->ulSourceDataLen : 0;
    if (devid_rsa_check_oaep(nid, p11_mgf_nid(p->mgf), label_len) != DEVID_OK) {
        devid_info("pkcs11: %s", devid_last_error());
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (p->ulSourceDataLen) {
        if (!(op->label = malloc(p->ulSourceDataLen)))
            return CKR_HOST_MEMORY;
        memcpy(op->label, p->pSourceData, p->ulSourceDataLen);
        op->label_len = p->ulSourceDataLen;
    }
    op->md_nid = nid;
    op->mgf_nid = nid;
    return CKR_OK;
}

/* ---- signatures (TPM) -------------------------------------------------------------------------- */

static CK_RV pkcs_sign(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                       size_t *siglen)
{
    /* Raw CKM_RSA_PKCS: a DigestInfo (core signs it as such) or other data core pads itself. */
    if (!op->md_nid && inlen + 11 > modulus_len(op))
        return CKR_DATA_LEN_RANGE;
    return p11_rv(devid_key_sign(op->key, DEVID_SIG_RSA_PKCS1, op->md_nid, in, inlen, sig, siglen),
                  "RSA PKCS#1 signature");
}

static CK_RV pss_sign(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                      size_t *siglen)
{
    if (inlen != p11_md_size(op->md_nid))
        return CKR_DATA_LEN_RANGE;
    return p11_rv(devid_key_sign(op->key, DEVID_SIG_RSA_PSS, op->md_nid, in, inlen, sig, siglen),
                  "RSA-PSS signature");
}

/* in, left-padded with zeros to the modulus length; CKR_DATA_INVALID unless below the
 * modulus. */
static CK_RV raw_block(const p11_op *op, const unsigned char *in, size_t inlen,
                       unsigned char *block, size_t k)
{
    if (inlen > k)
        return CKR_DATA_LEN_RANGE;
    memset(block, 0, k - inlen);
    memcpy(block + k - inlen, in, inlen);
    BIGNUM *n = NULL, *x = BN_bin2bn(block, (int)k, NULL);
    CK_RV rv = CKR_HOST_MEMORY;
    if (x && EVP_PKEY_get_bn_param(p11_op_pub(op), "n", &n) == 1)
        rv = BN_cmp(x, n) < 0 ? CKR_OK : CKR_DATA_INVALID;
    BN_free(n);
    BN_free(x);
    return rv;
}

static CK_RV x509_sign(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *sig,
                       size_t *siglen)
{
    unsigned char block[512];
    size_t k = modulus_len(op);
    if (k > sizeof(block))
        return CKR_KEY_SIZE_RANGE;
    CK_RV rv = raw_block(op, in, inlen, block, k);
    if (rv == CKR_OK)
        rv = p11_rv(devid_key_sign(op->key, DEVID_SIG_RSA_RAW, 0, block, k, sig, siglen),
                    "raw RSA signature");
    OPENSSL_cleanse(block, sizeof(block));
    return rv;
}

/* ---- verification (software) ----------------------------------------------------------------- */

static EVP_PKEY_CTX *verify_ctx(p11_op *op, int padding)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p11_op_pub(op), P11_SW_PROPQ);
    if (ctx && EVP_PKEY_verify_init(ctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1 &&
        (!op->md_nid || EVP_PKEY_CTX_set_signature_md(ctx, p11_md_get(op->md_nid)) == 1))
        return ctx;
    EVP_PKEY_CTX_free(ctx);
    return NULL;
}

static CK_RV verify_with(EVP_PKEY_CTX *ctx, const unsigned char *in, size_t inlen,
                         const unsigned char *sig, size_t siglen)
{
    CK_RV rv = CKR_HOST_MEMORY;
    if (ctx)
        rv = EVP_PKEY_verify(ctx, sig, siglen, in, inlen) == 1 ? CKR_OK : CKR_SIGNATURE_INVALID;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

static CK_RV pkcs_verify(p11_op *op, const unsigned char *in, size_t inlen,
                         const unsigned char *sig, size_t siglen)
{
    if (siglen != modulus_len(op))
        return CKR_SIGNATURE_LEN_RANGE;
    return verify_with(verify_ctx(op, RSA_PKCS1_PADDING), in, inlen, sig, siglen);
}

static CK_RV pss_verify(p11_op *op, const unsigned char *in, size_t inlen, const unsigned char *sig,
                        size_t siglen)
{
    if (siglen != modulus_len(op))
        return CKR_SIGNATURE_LEN_RANGE;
    if (inlen != p11_md_size(op->md_nid))
        return CKR_DATA_LEN_RANGE;
    EVP_PKEY_CTX *ctx = verify_ctx(op, RSA_PKCS1_PSS_PADDING);
    if (ctx && (EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_md_get(op->mgf_nid)) != 1 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)op->salt_len) != 1)) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return verify_with(ctx, in, inlen, sig, siglen);
}

static CK_RV x509_verify(p11_op *op, const unsigned char *in, size_t inlen,
                         const unsigned char *sig, size_t siglen)
{
    size_t k = modulus_len(op);
    if (siglen != k)
        return CKR_SIGNATURE_LEN_RANGE;
    unsigned char want[512], got[512];
    if (k > sizeof(want))
        return CKR_KEY_SIZE_RANGE;
    CK_RV rv = raw_block(op, in, inlen, want, k);
    if (rv != CKR_OK)
        return rv;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p11_op_pub(op), P11_SW_PROPQ);
    size_t glen = sizeof(got);
    rv = CKR_SIGNATURE_INVALID;
    if (!ctx)
        rv = CKR_HOST_MEMORY;
    else if (EVP_PKEY_verify_recover_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
             EVP_PKEY_verify_recover(ctx, got, &glen, sig, siglen) == 1 && glen == k &&
             CRYPTO_memcmp(got, want, k) == 0)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

/* ---- decryption (TPM) and encryption (software) ------------------------------------------------ */

static CK_RV rsa_decrypt(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *out,
                         size_t *outlen)
{
    if (inlen != modulus_len(op))
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    devid_dec_scheme scheme = op->mech->type == CKM_RSA_PKCS_OAEP ? DEVID_DEC_RSA_OAEP
                              : op->mech->type == CKM_RSA_X_509   ? DEVID_DEC_RSA_RAW
                                                                  : DEVID_DEC_RSA_PKCS1;
    devid_rc rc = devid_key_decrypt(op->key, scheme, op->md_nid, NULL, 0, in, inlen, out, outlen);
    /* The lengths were checked: a value the TPM refuses is bad ciphertext (padding). */
    if (rc == DEVID_ERR_ARG) {
        p11_rv(rc, "RSA decryption");
        return CKR_ENCRYPTED_DATA_INVALID;
    }
    return p11_rv(rc, "RSA decryption");
}

static CK_RV rsa_encrypt(p11_op *op, const unsigned char *in, size_t inlen, unsigned char *out,
                         size_t *outlen)
{
    size_t k = modulus_len(op);
    int padding = RSA_PKCS1_PADDING;
    unsigned char block[512];
    if (k > sizeof(block))
        return CKR_KEY_SIZE_RANGE;
    if (op->mech->type == CKM_RSA_X_509) {
        CK_RV rv = raw_block(op, in, inlen, block, k);
        if (rv != CKR_OK)
            return rv;
        in = block;
        inlen = k;
        padding = RSA_NO_PADDING;
    } else if (op->mech->type == CKM_RSA_PKCS_OAEP) {
        if (inlen + 2 * p11_md_size(op->md_nid) + 2 > k)
            return CKR_DATA_LEN_RANGE;
        padding = RSA_PKCS1_OAEP_PADDING;
    } else if (inlen + 11 > k) {
        return CKR_DATA_LEN_RANGE;
    }
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, p11_op_pub(op), P11_SW_PROPQ);
    CK_RV rv = CKR_FUNCTION_FAILED;
    bool ok = ctx && EVP_PKEY_encrypt_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, padding) == 1;
    if (ok && padding == RSA_PKCS1_OAEP_PADDING) {
        ok = EVP_PKEY_CTX_set_rsa_oaep_md(ctx, p11_md_get(op->md_nid)) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, p11_md_get(op->mgf_nid)) == 1;
        if (ok && op->label_len) {
            unsigned char *l = OPENSSL_memdup(op->label, op->label_len);
            ok = l && EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, l, (int)op->label_len) == 1;
            if (!ok)
                OPENSSL_free(l);
        }
    }
    if (ok && EVP_PKEY_encrypt(ctx, out, outlen, in, inlen) == 1)
        rv = CKR_OK;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return rv;
}

/* ---- the table ------------------------------------------------------------------------------- */

#define RSA_BITS .key_type = CKK_RSA, .min_bits = 1024, .max_bits = 4096
#define SIGN_VERIFY (CKF_HW | CKF_SIGN | CKF_VERIFY)
/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define HASH_PKCS(ck, nid, nm)                                                              \
    { .type = ck, .name = nm, RSA_BITS, .flags = SIGN_VERIFY, .hash_nid = nid,              \
      .sign = pkcs_sign, .verify = pkcs_verify }
#define HASH_PSS(ck, nid, nm)                                                               \
    { .type = ck, .name = nm, RSA_BITS, .flags = SIGN_VERIFY, .hash_nid = nid,              \
      .param = pss_param, .sign = pss_sign, .verify = pss_verify }
/* clang-format on */

const p11_mech p11_mech_rsa[] = {
    { .type = CKM_RSA_PKCS,
      .name = "CKM_RSA_PKCS",
      RSA_BITS,
      .flags = SIGN_VERIFY | CKF_ENCRYPT | CKF_DECRYPT,
      .sign = pkcs_sign,
      .verify = pkcs_verify,
      .decrypt = rsa_decrypt,
      .encrypt = rsa_encrypt },
    { .type = CKM_RSA_X_509,
      .name = "CKM_RSA_X_509",
      RSA_BITS,
      .flags = SIGN_VERIFY | CKF_ENCRYPT | CKF_DECRYPT,
      .needs_raw = true,
      .sign = x509_sign,
      .verify = x509_verify,
      .decrypt = rsa_decrypt,
      .encrypt = rsa_encrypt },
    { .type = CKM_RSA_PKCS_OAEP,
      .name = "CKM_RSA_PKCS_OAEP",
      RSA_BITS,
      .flags = CKF_HW | CKF_ENCRYPT | CKF_DECRYPT,
      .param = oaep_param,
      .decrypt = rsa_decrypt,
      .encrypt = rsa_encrypt },
    { .type = CKM_RSA_PKCS_PSS,
      .name = "CKM_RSA_PKCS_PSS",
      RSA_BITS,
      .flags = SIGN_VERIFY,
      .param = pss_param,
      .sign = pss_sign,
      .verify = pss_verify },
    HASH_PKCS(CKM_SHA1_RSA_PKCS, NID_sha1, "CKM_SHA1_RSA_PKCS"),
    HASH_PKCS(CKM_SHA256_RSA_PKCS, NID_sha256, "CKM_SHA256_RSA_PKCS"),
    HASH_PKCS(CKM_SHA384_RSA_PKCS, NID_sha384, "CKM_SHA384_RSA_PKCS"),
    HASH_PKCS(CKM_SHA512_RSA_PKCS, NID_sha512, "CKM_SHA512_RSA_PKCS"),
    HASH_PSS(CKM_SHA1_RSA_PKCS_PSS, NID_sha1, "CKM_SHA1_RSA_PKCS_PSS"),
    HASH_PSS(CKM_SHA256_RSA_PKCS_PSS, NID_sha256, "CKM_SHA256_RSA_PKCS_PSS"),
    HASH_PSS(CKM_SHA384_RSA_PKCS_PSS, NID_sha384, "CKM_SHA384_RSA_PKCS_PSS"),
    HASH_PSS(CKM_SHA512_RSA_PKCS_PSS, NID_sha512, "CKM_SHA512_RSA_PKCS_PSS"),
};
const size_t p11_mech_rsa_count = sizeof(p11_mech_rsa) / sizeof(p11_mech_rsa[0]);
