/* SPDX-License-Identifier: Apache-2.0 */
/* ASYM_CIPHER RSA: decryption with a TPM key (OAEP, PKCS#1 v1.5, raw) by core; encryption and
 * soft keys go to the default provider. Parameters (padding, OAEP digest, label) are parsed
 * by a shadow context of the default provider and read back from it. */
#include "provider.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

typedef struct ac_ctx {
    dp_ctx *ctx;
    dp_key *key;
    bool tpm; /* decrypt in the TPM; d is then a shadow encrypt context */
    EVP_PKEY_CTX *d;
} ac_ctx;

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_asym_cipher_newctx_fn ac_newctx;
static OSSL_FUNC_asym_cipher_freectx_fn ac_freectx;
static OSSL_FUNC_asym_cipher_dupctx_fn ac_dupctx;
static OSSL_FUNC_asym_cipher_encrypt_init_fn ac_encrypt_init;
static OSSL_FUNC_asym_cipher_encrypt_fn ac_encrypt;
static OSSL_FUNC_asym_cipher_decrypt_init_fn ac_decrypt_init;
static OSSL_FUNC_asym_cipher_decrypt_fn ac_decrypt;
static OSSL_FUNC_asym_cipher_set_ctx_params_fn ac_set_ctx_params;
static OSSL_FUNC_asym_cipher_settable_ctx_params_fn ac_settable;
static OSSL_FUNC_asym_cipher_get_ctx_params_fn ac_get_ctx_params;
static OSSL_FUNC_asym_cipher_gettable_ctx_params_fn ac_gettable;

static void *ac_newctx(void *provctx)
{
    ac_ctx *a = calloc(1, sizeof(*a));
    if (!a)
        dp_raise(provctx, DP_R_MEMORY, "cipher context");
    else
        a->ctx = provctx;
    return a;
}

static void ac_freectx(void *vctx)
{
    ac_ctx *a = vctx;
    if (!a)
        return;
    EVP_PKEY_CTX_free(a->d);
    dp_key_free(a->key);
    free(a);
}

static void *ac_dupctx(void *vctx)
{
    ac_ctx *a = vctx, *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    *n = *a;
    n->key = dp_key_ref(a->key);
    n->d = NULL;
    if (a->d && !(n->d = EVP_PKEY_CTX_dup(a->d))) {
        ac_freectx(n);
        return NULL;
    }
    return n;
}

static int ac_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    ac_ctx *a = vctx;
    if (!params || !params[0].key)
        return 1;
    return a->d && EVP_PKEY_CTX_set_params(a->d, (OSSL_PARAM *)params) == 1;
}

static int ac_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    ac_ctx *a = vctx;
    return a->d && EVP_PKEY_CTX_get_params(a->d, params) == 1;
}

static int init(ac_ctx *a, dp_key *key, bool decrypt, const OSSL_PARAM params[])
{
    if (!key || !key->pub)
        return 0;
    EVP_PKEY_CTX_free(a->d);
    dp_key_free(a->key);
    a->key = dp_key_ref(key);
    a->tpm = decrypt && key->tpm;
    a->d = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, DP_SW_PROPQ);
    int ok = a->d && ((decrypt && !a->tpm) ? EVP_PKEY_decrypt_init(a->d)
                                           : EVP_PKEY_encrypt_init(a->d)) == 1;
    if (!ok) {
        dp_raise(a->ctx, DP_R_OPENSSL, "setting up RSA %s", decrypt ? "decryption" : "encryption");
        return 0;
    }
    if (a->tpm) {
        if (!dp_core_ready(a->ctx))
            return 0;
        if (!(devid_key_get_flags(key->tpm) & DEVID_KEY_CAN_DECRYPT)) {
            dp_raise(a->ctx, DP_R_KEY_USAGE, "TPM key 0x%08x cannot decrypt",
                     devid_key_get_handle(key->tpm));
            return 0;
        }
    }
    return ac_set_ctx_params(a, params);
}

static int ac_encrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return init(vctx, vkey, false, params);
}
static int ac_decrypt_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return init(vctx, vkey, true, params);
}

static int ac_encrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                      const unsigned char *in, size_t inlen)
{
    ac_ctx *a = vctx;
    size_t len = out ? outsize : 0;
    if (!a->d || a->tpm || EVP_PKEY_encrypt(a->d, out, &len, in, inlen) != 1)
        return 0;
    *outlen = len;
    return 1;
}

/* OAEP with a TPM key: the digest (MGF1 must use the same one) and no label. */
static int tpm_oaep_digest(ac_ctx *a, int *md_nid)
{
    char mdname[64] = "";
    void *label = NULL;
    size_t label_len = 0;
    OSSL_PARAM q[] = {
        OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_OAEP_DIGEST, mdname, sizeof(mdname)),
        OSSL_PARAM_octet_ptr(OSSL_ASYM_CIPHER_PARAM_OAEP_LABEL, &label, 0),
        OSSL_PARAM_END,
    };
    if (EVP_PKEY_CTX_get_params(a->d, q) != 1) {
        dp_raise(a->ctx, DP_R_OPENSSL, "reading the OAEP parameters");
        return 0;
    }
    /* core refuses labels before reaching the TPM (swtpm was seen to enter failure mode
     * on a labelled decryption) */
    label_len = label ? q[1].return_size : 0;
    *md_nid = dp_md_nid(mdname[0] ? mdname : "SHA1");
    char mgf1[64] = "";
    OSSL_PARAM m[] = { OSSL_PARAM_utf8_string(OSSL_ASYM_CIPHER_PARAM_MGF1_DIGEST, mgf1,
                                              sizeof(mgf1)),
                       OSSL_PARAM_END };
    int mgf1_nid = EVP_PKEY_CTX_get_params(a->d, m) == 1 && mgf1[0] ? dp_md_nid(mgf1) : *md_nid;
    devid_rc rc = devid_rsa_check_oaep(*md_nid, mgf1_nid, label_len);
    if (rc != DEVID_OK) {
        dp_raise_rc(a->ctx, rc, "OAEP with a TPM key");
        return 0;
    }
    return 1;
}

/* The TPM decryption scheme for the shadow context's padding mode. */
static int tpm_scheme(ac_ctx *a, devid_dec_scheme *scheme, int *md_nid)
{
    int pad = RSA_PKCS1_PADDING;
    OSSL_PARAM p[] = {
        OSSL_PARAM_int(OSSL_ASYM_CIPHER_PARAM_PAD_MODE, &pad),
        OSSL_PARAM_END,
    };
    if (EVP_PKEY_CTX_get_params(a->d, p) != 1) {
        dp_raise(a->ctx, DP_R_OPENSSL, "reading the padding mode");
        return 0;
    }
    *md_nid = NID_undef;
    switch (pad) {
    case RSA_PKCS1_PADDING:
        *scheme = DEVID_DEC_RSA_PKCS1;
        return 1;
    case RSA_NO_PADDING:
        *scheme = DEVID_DEC_RSA_RAW;
        return 1;
    case RSA_PKCS1_OAEP_PADDING:
        *scheme = DEVID_DEC_RSA_OAEP;
        return tpm_oaep_digest(a, md_nid);
    default:
        dp_raise(a->ctx, DP_R_UNSUPPORTED, "RSA padding mode %d with a TPM key", pad);
        return 0;
    }
}

/* TPM path: core decrypts (the label is always empty: tpm_oaep_digest refuses one). */
static int tpm_decrypt(ac_ctx *a, unsigned char *out, size_t *outlen, size_t outsize,
                       const unsigned char *in, size_t inlen)
{
    devid_dec_scheme scheme;
    int md_nid;
    if (!tpm_scheme(a, &scheme, &md_nid))
        return 0;
    size_t len = out ? outsize : 0;
    devid_rc rc = devid_key_decrypt(a->key->tpm, scheme, md_nid, NULL, 0, in, inlen, out, &len);
    if (rc != DEVID_OK) {
        dp_raise_rc(a->ctx, rc, "decrypting in the TPM");
        return 0;
    }
    *outlen = len;
    return 1;
}

/* Delegated path: the default provider decrypts with a soft key. */
static int delegate_decrypt(ac_ctx *a, unsigned char *out, size_t *outlen, size_t outsize,
                            const unsigned char *in, size_t inlen)
{
    size_t len = out ? outsize : 0;
    if (EVP_PKEY_decrypt(a->d, out, &len, in, inlen) != 1)
        return 0;
    *outlen = len;
    return 1;
}

static int ac_decrypt(void *vctx, unsigned char *out, size_t *outlen, size_t outsize,
                      const unsigned char *in, size_t inlen)
{
    ac_ctx *a = vctx;
    if (!a->d)
        return 0;
    return a->tpm ? tpm_decrypt(a, out, outlen, outsize, in, inlen)
                  : delegate_decrypt(a, out, outlen, outsize, in, inlen);
}

static const OSSL_PARAM *ac_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_ASYM_CIPHER, "RSA", DP_SW_SETTABLE);
}
static const OSSL_PARAM *ac_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_ASYM_CIPHER, "RSA", DP_SW_GETTABLE);
}

const OSSL_DISPATCH dp_rsa_asym_cipher_functions[] = {
    { OSSL_FUNC_ASYM_CIPHER_NEWCTX, (void (*)(void))ac_newctx },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT_INIT, (void (*)(void))ac_encrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_ENCRYPT, (void (*)(void))ac_encrypt },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT_INIT, (void (*)(void))ac_decrypt_init },
    { OSSL_FUNC_ASYM_CIPHER_DECRYPT, (void (*)(void))ac_decrypt },
    { OSSL_FUNC_ASYM_CIPHER_FREECTX, (void (*)(void))ac_freectx },
    { OSSL_FUNC_ASYM_CIPHER_DUPCTX, (void (*)(void))ac_dupctx },
    { OSSL_FUNC_ASYM_CIPHER_GET_CTX_PARAMS, (void (*)(void))ac_get_ctx_params },
    { OSSL_FUNC_ASYM_CIPHER_GETTABLE_CTX_PARAMS, (void (*)(void))ac_gettable },
    { OSSL_FUNC_ASYM_CIPHER_SET_CTX_PARAMS, (void (*)(void))ac_set_ctx_params },
    { OSSL_FUNC_ASYM_CIPHER_SETTABLE_CTX_PARAMS, (void (*)(void))ac_settable },
    { 0, NULL },
};
