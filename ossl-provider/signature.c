/* SPDX-License-Identifier: Apache-2.0 */
/* SIGNATURE: ECDSA and RSA (PKCS#1 v1.5, PSS with salt = digest length, raw).
 *
 * This file holds the context and the dispatch table; each operation takes one of two paths:
 * signing with a TPM key (signature_tpm.c), or the default provider doing all of it
 * (signature_delegate.c: verifying, and any operation on a soft key).
 */
#include "signature.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_signature_newctx_fn sig_newctx;
static OSSL_FUNC_signature_freectx_fn sig_freectx;
static OSSL_FUNC_signature_dupctx_fn sig_dupctx;
static OSSL_FUNC_signature_sign_init_fn sig_sign_init;
static OSSL_FUNC_signature_sign_fn sig_sign;
static OSSL_FUNC_signature_verify_init_fn sig_verify_init;
static OSSL_FUNC_signature_verify_fn sig_verify;
static OSSL_FUNC_signature_verify_recover_init_fn sig_verify_recover_init;
static OSSL_FUNC_signature_verify_recover_fn sig_verify_recover;
static OSSL_FUNC_signature_digest_sign_init_fn sig_digest_sign_init;
static OSSL_FUNC_signature_digest_verify_init_fn sig_digest_verify_init;
static OSSL_FUNC_signature_digest_sign_update_fn sig_digest_update;
static OSSL_FUNC_signature_digest_sign_final_fn sig_digest_sign_final;
static OSSL_FUNC_signature_digest_verify_final_fn sig_digest_verify_final;
static OSSL_FUNC_signature_set_ctx_params_fn sig_set_ctx_params;
static OSSL_FUNC_signature_get_ctx_params_fn sig_get_ctx_params;
static OSSL_FUNC_signature_settable_ctx_params_fn ecdsa_settable, rsa_settable;
static OSSL_FUNC_signature_gettable_ctx_params_fn ecdsa_gettable, rsa_gettable;

static void *sig_newctx(void *provctx, const char *propq)
{
    (void)propq;
    sig_ctx *s = calloc(1, sizeof(*s));
    if (!s) {
        dp_raise(provctx, DP_R_MEMORY, "signature context");
        return NULL;
    }
    s->ctx = provctx;
    return s;
}

static void reset(sig_ctx *s)
{
    if (s->dmd)
        EVP_MD_CTX_free(s->dmd); /* owns d */
    else
        EVP_PKEY_CTX_free(s->d);
    s->dmd = NULL;
    s->d = NULL;
    EVP_MD_CTX_free(s->mdctx);
    s->mdctx = NULL;
    EVP_MD_free(s->md);
    s->md = NULL;
    dp_key_free(s->key);
    s->key = NULL;
}

static void sig_freectx(void *vctx)
{
    sig_ctx *s = vctx;
    if (!s)
        return;
    reset(s);
    free(s);
}

static void *sig_dupctx(void *vctx)
{
    sig_ctx *s = vctx, *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    *n = *s;
    n->key = dp_key_ref(s->key);
    n->d = NULL;
    n->dmd = NULL;
    n->mdctx = NULL;
    n->md = NULL;
    if (s->md && EVP_MD_up_ref(s->md))
        n->md = s->md;
    bool ok = true;
    if (s->dmd) {
        ok = (n->dmd = EVP_MD_CTX_new()) && EVP_MD_CTX_copy_ex(n->dmd, s->dmd);
        if (ok)
            n->d = EVP_MD_CTX_get_pkey_ctx(n->dmd);
    } else if (s->d) {
        ok = (n->d = EVP_PKEY_CTX_dup(s->d)) != NULL;
    }
    if (ok && s->mdctx)
        ok = (n->mdctx = EVP_MD_CTX_new()) && EVP_MD_CTX_copy_ex(n->mdctx, s->mdctx);
    if (!ok) {
        sig_freectx(n);
        dp_raise(s->ctx, DP_R_OPENSSL, "duplicating a signature context");
        return NULL;
    }
    return n;
}

int dp_sig_set_params(sig_ctx *s, const OSSL_PARAM params[])
{
    if (!params || !params[0].key)
        return 1;
    if (!s->d)
        return 0;
    if (s->tpm)
        return dp_sig_tpm_set_params(s, params);
    return EVP_PKEY_CTX_set_params(s->d, (OSSL_PARAM *)params) == 1;
}

/* Takes a reference to vkey (NULL: keep the current key) and drops the previous operation. */
static int take_key(sig_ctx *s, dp_key *key)
{
    if (!key && !s->key) {
        dp_raise(s->ctx, DP_R_ARG, "no key");
        return 0;
    }
    key = dp_key_ref(key ? key : s->key);
    reset(s);
    s->key = key;
    if (!key->pub) {
        dp_raise(s->ctx, DP_R_ARG, "empty key");
        return 0;
    }
    return 1;
}

/* Sets up the context for key / operation. mdname != NULL: a digest-sign/verify operation. */
static int init(sig_ctx *s, void *vkey, int op, const char *mdname, const OSSL_PARAM params[])
{
    if (!take_key(s, vkey))
        return 0;
    s->op = op;
    s->tpm = s->key->tpm && op == EVP_PKEY_OP_SIGN;
    s->pad = RSA_PKCS1_PADDING;
    s->saltlen = RSA_PSS_SALTLEN_AUTO;
    return s->tpm ? dp_sig_tpm_init(s, mdname, params) : dp_sig_delegate_init(s, mdname, params);
}

static int sig_sign_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return init(vctx, vkey, EVP_PKEY_OP_SIGN, NULL, params);
}
static int sig_verify_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return init(vctx, vkey, EVP_PKEY_OP_VERIFY, NULL, params);
}
static int sig_verify_recover_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    return init(vctx, vkey, EVP_PKEY_OP_VERIFYRECOVER, NULL, params);
}

static int sig_sign(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *s = vctx;
    if (!s->key || s->op != EVP_PKEY_OP_SIGN)
        return 0;
    if (!s->tpm) {
        size_t len = sig ? sigsize : 0;
        if (EVP_PKEY_sign(s->d, sig, &len, tbs, tbslen) != 1)
            return 0;
        *siglen = len;
        return 1;
    }
    if (!sig) {
        *siglen = dp_sig_tpm_max_size(s);
        return 1;
    }
    return dp_sig_tpm_sign(s, sig, siglen, sigsize, tbs, tbslen);
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen, const unsigned char *tbs,
                      size_t tbslen)
{
    sig_ctx *s = vctx;
    if (!s->d || s->op != EVP_PKEY_OP_VERIFY)
        return 0;
    return EVP_PKEY_verify(s->d, sig, siglen, tbs, tbslen);
}

static int sig_verify_recover(void *vctx, unsigned char *rout, size_t *routlen, size_t routsize,
                              const unsigned char *sig, size_t siglen)
{
    sig_ctx *s = vctx;
    if (!s->d || s->op != EVP_PKEY_OP_VERIFYRECOVER)
        return 0;
    size_t len = rout ? routsize : 0;
    if (EVP_PKEY_verify_recover(s->d, rout, &len, sig, siglen) != 1)
        return 0;
    *routlen = len;
    return 1;
}

/* ---- digest-sign / digest-verify ---- */

static int sig_digest_sign_init(void *vctx, const char *mdname, void *vkey,
                                const OSSL_PARAM params[])
{
    return init(vctx, vkey, EVP_PKEY_OP_SIGN, mdname ? mdname : "", params);
}
static int sig_digest_verify_init(void *vctx, const char *mdname, void *vkey,
                                  const OSSL_PARAM params[])
{
    return init(vctx, vkey, EVP_PKEY_OP_VERIFY, mdname ? mdname : "", params);
}

static int sig_digest_update(void *vctx, const unsigned char *data, size_t datalen)
{
    sig_ctx *s = vctx;
    if (s->mdctx)
        return EVP_DigestUpdate(s->mdctx, data, datalen);
    if (!s->dmd)
        return 0;
    return s->op == EVP_PKEY_OP_SIGN ? EVP_DigestSignUpdate(s->dmd, data, datalen)
                                     : EVP_DigestVerifyUpdate(s->dmd, data, datalen);
}

static int sig_digest_sign_final(void *vctx, unsigned char *sig, size_t *siglen, size_t sigsize)
{
    sig_ctx *s = vctx;
    if (s->op != EVP_PKEY_OP_SIGN)
        return 0;
    if (s->dmd) {
        size_t len = sig ? sigsize : 0;
        if (EVP_DigestSignFinal(s->dmd, sig, &len) != 1)
            return 0;
        *siglen = len;
        return 1;
    }
    if (!s->mdctx)
        return 0;
    if (!sig) {
        *siglen = dp_sig_tpm_max_size(s);
        return 1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(s->mdctx, digest, &dlen) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "finishing the digest");
        return 0;
    }
    return dp_sig_tpm_sign(s, sig, siglen, sigsize, digest, dlen);
}

static int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sig_ctx *s = vctx;
    if (!s->dmd || s->op != EVP_PKEY_OP_VERIFY)
        return 0;
    return EVP_DigestVerifyFinal(s->dmd, sig, siglen);
}

/* ---- parameters ---- */

static int sig_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    return dp_sig_set_params(vctx, params);
}

static int sig_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    sig_ctx *s = vctx;
    if (!s->d)
        return 0;
    if (s->tpm && s->pad == RSA_PKCS1_PSS_PADDING && s->md &&
        OSSL_PARAM_locate(params, OSSL_SIGNATURE_PARAM_ALGORITHM_ID)) {
        /* The signature's salt is the digest length: say so in the AlgorithmIdentifier. */
        int saltlen = EVP_MD_get_size(s->md);
        OSSL_PARAM p[] = { OSSL_PARAM_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen),
                           OSSL_PARAM_END };
        if (EVP_PKEY_CTX_set_params(s->d, p) != 1)
            return 0;
    }
    return EVP_PKEY_CTX_get_params(s->d, params);
}

static const OSSL_PARAM *ecdsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_SIGNATURE, "ECDSA", DP_SW_SETTABLE);
}
static const OSSL_PARAM *ecdsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_SIGNATURE, "ECDSA", DP_SW_GETTABLE);
}
static const OSSL_PARAM *rsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_SIGNATURE, "RSA", DP_SW_SETTABLE);
}
static const OSSL_PARAM *rsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_SIGNATURE, "RSA", DP_SW_GETTABLE);
}

/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define FN(id, f) { OSSL_FUNC_SIGNATURE_##id, (void (*)(void))(f) }
/* clang-format on */
#define COMMON_FUNCTIONS                                                                           \
    FN(NEWCTX, sig_newctx), FN(FREECTX, sig_freectx), FN(DUPCTX, sig_dupctx),                      \
        FN(SIGN_INIT, sig_sign_init), FN(SIGN, sig_sign), FN(VERIFY_INIT, sig_verify_init),        \
        FN(VERIFY, sig_verify), FN(DIGEST_SIGN_INIT, sig_digest_sign_init),                        \
        FN(DIGEST_SIGN_UPDATE, sig_digest_update), FN(DIGEST_SIGN_FINAL, sig_digest_sign_final),   \
        FN(DIGEST_VERIFY_INIT, sig_digest_verify_init),                                            \
        FN(DIGEST_VERIFY_UPDATE, sig_digest_update),                                               \
        FN(DIGEST_VERIFY_FINAL, sig_digest_verify_final), FN(SET_CTX_PARAMS, sig_set_ctx_params),  \
        FN(GET_CTX_PARAMS, sig_get_ctx_params)

const OSSL_DISPATCH dp_ecdsa_signature_functions[] = {
    COMMON_FUNCTIONS,
    FN(SETTABLE_CTX_PARAMS, ecdsa_settable),
    FN(GETTABLE_CTX_PARAMS, ecdsa_gettable),
    { 0, NULL },
};

const OSSL_DISPATCH dp_rsa_signature_functions[] = {
    COMMON_FUNCTIONS,
    FN(VERIFY_RECOVER_INIT, sig_verify_recover_init),
    FN(VERIFY_RECOVER, sig_verify_recover),
    FN(SETTABLE_CTX_PARAMS, rsa_settable),
    FN(GETTABLE_CTX_PARAMS, rsa_gettable),
    { 0, NULL },
};
