/* SIGNATURE: ECDSA and RSA (PKCS#1 v1.5, PSS with salt = digest length, raw).
 *
 * Signing with a TPM key: the digest is computed here in software, core signs it (one TPM
 * command). Parameters (digest, padding, salt length, MGF1 digest) are parsed by a "shadow"
 * verify context of the default provider on the key's public part, which also yields the
 * AlgorithmIdentifier for X.509/CMS; we read the effective settings back from it.
 * Verifying, and any operation on a soft key, is done entirely by the default provider.
 */
#include "provider.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

typedef struct sig_ctx {
    dp_ctx *ctx;
    dp_key *key;
    int op;                 /* EVP_PKEY_OP_SIGN / VERIFY / VERIFYRECOVER */
    bool tpm;               /* sign in the TPM (else: everything delegated) */
    EVP_PKEY_CTX *d;        /* TPM: shadow verify context; else: the delegate */
    EVP_MD_CTX *dmd;        /* delegated digest-sign/verify (owns d) */
    EVP_MD_CTX *mdctx;      /* TPM digest-sign: software hashing */
    EVP_MD *md;             /* TPM: effective digest (NULL: none) */
    int pad;                /* TPM RSA: RSA_PKCS1_PADDING / RSA_PKCS1_PSS_PADDING / RSA_NO_PADDING */
    int saltlen;
    char mgf1[64];
} sig_ctx;

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

/* Reads the effective digest / padding / salt length back from the shadow context. */
static int sync_from_shadow(sig_ctx *s)
{
    char mdname[64] = "";
    OSSL_PARAM p[5], *q = p;
    *q++ = OSSL_PARAM_construct_utf8_string(OSSL_SIGNATURE_PARAM_DIGEST, mdname, sizeof(mdname));
    if (s->key->type == DEVID_KEY_RSA) {
        s->mgf1[0] = '\0';
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PAD_MODE, &s->pad);
        *q++ = OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &s->saltlen);
    }
    *q = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_get_params(s->d, p) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "reading signature parameters");
        return 0;
    }
    if (s->key->type == DEVID_KEY_RSA && s->pad == RSA_PKCS1_PSS_PADDING) {
        OSSL_PARAM m[] = { OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, s->mgf1,
                                                  sizeof(s->mgf1)),
                           OSSL_PARAM_END };
        if (EVP_PKEY_CTX_get_params(s->d, m) != 1)
            s->mgf1[0] = '\0';
    }
    if (mdname[0] && (!s->md || !EVP_MD_is_a(s->md, mdname))) {
        EVP_MD *md = EVP_MD_fetch(NULL, mdname, "?" DP_SW_PROPQ);
        if (!md) {
            dp_raise(s->ctx, DP_R_UNSUPPORTED, "digest %s", mdname);
            return 0;
        }
        EVP_MD_free(s->md);
        s->md = md;
    }
    return 1;
}

static int set_params(sig_ctx *s, const OSSL_PARAM params[])
{
    if (!params || !params[0].key)
        return 1;
    if (!s->d)
        return 0;
    if (EVP_PKEY_CTX_set_params(s->d, (OSSL_PARAM *)params) != 1)
        return 0;
    return s->tpm ? sync_from_shadow(s) : 1;
}

/* Sets up the context for key / operation. mdname != NULL: a digest-sign/verify operation. */
static int init(sig_ctx *s, void *vkey, int op, const char *mdname, const OSSL_PARAM params[])
{
    dp_key *key = vkey;
    if (!key && !s->key) {
        dp_raise(s->ctx, DP_R_ARG, "no key");
        return 0;
    }
    if (key) {
        dp_key_ref(key);
        reset(s);
        s->key = key;
    } else {
        dp_key *k = dp_key_ref(s->key);
        reset(s);
        s->key = k;
    }
    key = s->key;
    if (!key->pub) {
        dp_raise(s->ctx, DP_R_ARG, "empty key");
        return 0;
    }
    s->op = op;
    s->tpm = key->tpm && op == EVP_PKEY_OP_SIGN;
    s->pad = RSA_PKCS1_PADDING;
    s->saltlen = RSA_PSS_SALTLEN_AUTO;
    int ok;
    if (!s->tpm && mdname) {
        /* delegated digest-sign / digest-verify */
        s->dmd = EVP_MD_CTX_new();
        ok = s->dmd != NULL;
        if (ok && op == EVP_PKEY_OP_SIGN)
            ok = EVP_DigestSignInit_ex(s->dmd, &s->d, mdname[0] ? mdname : NULL, NULL,
                                       DP_SW_PROPQ, key->pub, params) == 1;
        else if (ok)
            ok = EVP_DigestVerifyInit_ex(s->dmd, &s->d, mdname[0] ? mdname : NULL, NULL,
                                         DP_SW_PROPQ, key->pub, params) == 1;
        if (!ok)
            dp_raise(s->ctx, DP_R_OPENSSL, "setting up a %s signature", dp_key_type_name(key->type));
        return ok;
    }
    s->d = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, DP_SW_PROPQ);
    ok = s->d != NULL;
    if (ok) {
        if (s->tpm || op == EVP_PKEY_OP_VERIFY)
            ok = EVP_PKEY_verify_init(s->d) == 1;
        else if (op == EVP_PKEY_OP_SIGN)
            ok = EVP_PKEY_sign_init(s->d) == 1;
        else
            ok = EVP_PKEY_verify_recover_init(s->d) == 1;
    }
    if (!ok) {
        dp_raise(s->ctx, DP_R_OPENSSL, "setting up a %s signature", dp_key_type_name(key->type));
        return 0;
    }
    if (s->tpm) {
        if (!dp_core_ready(s->ctx))
            return 0;
        if (!(devid_key_get_flags(key->tpm) & (DEVID_KEY_CAN_SIGN | DEVID_KEY_CAN_DECRYPT))) {
            dp_raise(s->ctx, DP_R_KEY_USAGE, "TPM key 0x%08x cannot sign",
                     devid_key_get_handle(key->tpm));
            return 0;
        }
        if (mdname) {
            OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(
                                   OSSL_SIGNATURE_PARAM_DIGEST,
                                   (char *)(mdname[0] ? mdname : "SHA256"), 0),
                               OSSL_PARAM_END };
            if (!set_params(s, p))
                return 0;
            s->mdctx = EVP_MD_CTX_new();
            if (!s->mdctx || !s->md || EVP_DigestInit_ex(s->mdctx, s->md, NULL) != 1) {
                dp_raise(s->ctx, DP_R_OPENSSL, "starting digest %s", mdname);
                return 0;
            }
        }
    }
    return set_params(s, params);
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

static size_t ecdsa_der_max(size_t n)
{
    size_t content = 2 * (n + 3); /* two INTEGERs, each with a possible leading zero */
    return content + (content < 128 ? 2 : 3);
}

static size_t max_sig_size(sig_ctx *s)
{
    size_t raw = devid_key_sig_size(s->key->tpm);
    return s->key->type == DEVID_KEY_EC ? ecdsa_der_max(raw / 2) : raw;
}

static int ecdsa_to_der(sig_ctx *s, const unsigned char *rs, size_t rslen, unsigned char *sig,
                        size_t *siglen, size_t sigsize)
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, (int)(rslen / 2), NULL);
    BIGNUM *sv = BN_bin2bn(rs + rslen / 2, (int)(rslen / 2), NULL);
    int ok = es && r && sv && ECDSA_SIG_set0(es, r, sv) == 1;
    if (ok)
        r = sv = NULL; /* owned by es */
    int len = ok ? i2d_ECDSA_SIG(es, NULL) : -1;
    if (len <= 0 || (size_t)len > sigsize) {
        ok = 0;
    } else {
        unsigned char *p = sig;
        ok = i2d_ECDSA_SIG(es, &p) == len;
        *siglen = (size_t)len;
    }
    BN_free(r);
    BN_free(sv);
    ECDSA_SIG_free(es);
    if (!ok)
        dp_raise(s->ctx, DP_R_OPENSSL, "encoding the ECDSA signature");
    return ok;
}

/* Signs tbs (a digest, or for RSA without a digest: data to pad / a DigestInfo) in the TPM. */
static int tpm_sign(sig_ctx *s, unsigned char *sig, size_t *siglen, size_t sigsize,
                    const unsigned char *tbs, size_t tbslen)
{
    devid_key *k = s->key->tpm;
    int md_nid = s->md ? EVP_MD_get_type(s->md) : NID_undef;
    devid_sig_scheme scheme = DEVID_SIG_ECDSA;
    if (s->key->type == DEVID_KEY_RSA) {
        switch (s->pad) {
        case RSA_PKCS1_PADDING:
            scheme = DEVID_SIG_RSA_PKCS1;
            break;
        case RSA_PKCS1_PSS_PADDING: {
            scheme = DEVID_SIG_RSA_PSS;
            int mdsize = s->md ? EVP_MD_get_size(s->md) : 0;
            if (!s->md) {
                dp_raise(s->ctx, DP_R_ARG, "PSS needs a digest");
                return 0;
            }
            if (s->saltlen != RSA_PSS_SALTLEN_DIGEST && s->saltlen != RSA_PSS_SALTLEN_AUTO &&
                s->saltlen != mdsize) {
                dp_raise(s->ctx, DP_R_UNSUPPORTED,
                         "TPM keys sign PSS with salt length = digest length (%d), not %d",
                         mdsize, s->saltlen);
                return 0;
            }
            if (s->mgf1[0] && !EVP_MD_is_a(s->md, s->mgf1)) {
                dp_raise(s->ctx, DP_R_UNSUPPORTED, "TPM keys use MGF1 with the signature digest");
                return 0;
            }
            break;
        }
        case RSA_NO_PADDING:
            scheme = DEVID_SIG_RSA_RAW;
            md_nid = NID_undef;
            break;
        default:
            dp_raise(s->ctx, DP_R_UNSUPPORTED, "RSA padding mode %d", s->pad);
            return 0;
        }
    }
    if (s->md && scheme != DEVID_SIG_RSA_RAW && tbslen != (size_t)EVP_MD_get_size(s->md)) {
        dp_raise(s->ctx, DP_R_ARG, "%zu-byte input for digest %s", tbslen, EVP_MD_get0_name(s->md));
        return 0;
    }
    unsigned char raw[1024];
    size_t rawlen = sizeof(raw);
    devid_rc rc = devid_key_sign(k, scheme, md_nid, tbs, tbslen, raw, &rawlen);
    if (rc != DEVID_OK) {
        dp_raise_rc(s->ctx, rc, "signing in the TPM");
        return 0;
    }
    if (s->key->type == DEVID_KEY_EC)
        return ecdsa_to_der(s, raw, rawlen, sig, siglen, sigsize);
    if (rawlen > sigsize) {
        dp_raise(s->ctx, DP_R_BUFFER, "signature needs %zu bytes", rawlen);
        return 0;
    }
    memcpy(sig, raw, rawlen);
    *siglen = rawlen;
    return 1;
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
        *siglen = max_sig_size(s);
        return 1;
    }
    return tpm_sign(s, sig, siglen, sigsize, tbs, tbslen);
}

static int sig_verify(void *vctx, const unsigned char *sig, size_t siglen,
                      const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *s = vctx;
    if (!s->d || s->op != EVP_PKEY_OP_VERIFY)
        return 0;
    return EVP_PKEY_verify(s->d, sig, siglen, tbs, tbslen);
}

static int sig_verify_recover(void *vctx, unsigned char *rout, size_t *routlen,
                              size_t routsize, const unsigned char *sig, size_t siglen)
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
        *siglen = max_sig_size(s);
        return 1;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_DigestFinal_ex(s->mdctx, digest, &dlen) != 1) {
        dp_raise(s->ctx, DP_R_OPENSSL, "finishing the digest");
        return 0;
    }
    return tpm_sign(s, sig, siglen, sigsize, digest, dlen);
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
    return set_params(vctx, params);
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

static const OSSL_PARAM *sw_sig_list(const char *name, bool settable)
{
    static const OSSL_PARAM empty[] = { OSSL_PARAM_END };
    EVP_SIGNATURE *sig = EVP_SIGNATURE_fetch(NULL, name, DP_SW_PROPQ);
    if (!sig)
        return empty;
    /* static data of the built-in default provider: valid after the free */
    const OSSL_PARAM *list = settable ? EVP_SIGNATURE_settable_ctx_params(sig)
                                      : EVP_SIGNATURE_gettable_ctx_params(sig);
    EVP_SIGNATURE_free(sig);
    return list ? list : empty;
}

static const OSSL_PARAM *ecdsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return sw_sig_list("ECDSA", true);
}
static const OSSL_PARAM *ecdsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return sw_sig_list("ECDSA", false);
}
static const OSSL_PARAM *rsa_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return sw_sig_list("RSA", true);
}
static const OSSL_PARAM *rsa_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return sw_sig_list("RSA", false);
}

#define FN(id, f) { OSSL_FUNC_SIGNATURE_##id, (void (*)(void))(f) }
#define COMMON_FUNCTIONS                                                                       \
    FN(NEWCTX, sig_newctx), FN(FREECTX, sig_freectx), FN(DUPCTX, sig_dupctx),                  \
    FN(SIGN_INIT, sig_sign_init), FN(SIGN, sig_sign), FN(VERIFY_INIT, sig_verify_init),        \
    FN(VERIFY, sig_verify), FN(DIGEST_SIGN_INIT, sig_digest_sign_init),                        \
    FN(DIGEST_SIGN_UPDATE, sig_digest_update), FN(DIGEST_SIGN_FINAL, sig_digest_sign_final),   \
    FN(DIGEST_VERIFY_INIT, sig_digest_verify_init),                                            \
    FN(DIGEST_VERIFY_UPDATE, sig_digest_update),                                               \
    FN(DIGEST_VERIFY_FINAL, sig_digest_verify_final),                                          \
    FN(SET_CTX_PARAMS, sig_set_ctx_params), FN(GET_CTX_PARAMS, sig_get_ctx_params)

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
