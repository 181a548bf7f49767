/* SPDX-License-Identifier: Apache-2.0 */
/* KEYEXCH ECDH: with a TPM key (decrypt attribute) the shared secret is computed by the TPM
 * (TPM2_ECDH_ZGen, plain ECDH: no cofactor mode, no KDF); soft keys go to the default provider. */
#include "provider.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>

typedef struct kx_ctx {
    dp_ctx *ctx;
    dp_key *key;
    dp_key *peer;
    EVP_PKEY_CTX *d; /* soft keys: the delegate */
} kx_ctx;

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_keyexch_newctx_fn kx_newctx;
static OSSL_FUNC_keyexch_freectx_fn kx_freectx;
static OSSL_FUNC_keyexch_dupctx_fn kx_dupctx;
static OSSL_FUNC_keyexch_init_fn kx_init;
static OSSL_FUNC_keyexch_set_peer_fn kx_set_peer;
static OSSL_FUNC_keyexch_derive_fn kx_derive;
static OSSL_FUNC_keyexch_set_ctx_params_fn kx_set_ctx_params;
static OSSL_FUNC_keyexch_settable_ctx_params_fn kx_settable;
static OSSL_FUNC_keyexch_get_ctx_params_fn kx_get_ctx_params;
static OSSL_FUNC_keyexch_gettable_ctx_params_fn kx_gettable;

static void *kx_newctx(void *provctx)
{
    kx_ctx *k = calloc(1, sizeof(*k));
    if (!k)
        dp_raise(provctx, DP_R_MEMORY, "key exchange context");
    else
        k->ctx = provctx;
    return k;
}

static void kx_freectx(void *vctx)
{
    kx_ctx *k = vctx;
    if (!k)
        return;
    EVP_PKEY_CTX_free(k->d);
    dp_key_free(k->key);
    dp_key_free(k->peer);
    free(k);
}

static void *kx_dupctx(void *vctx)
{
    kx_ctx *k = vctx, *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->ctx = k->ctx;
    n->key = dp_key_ref(k->key);
    n->peer = dp_key_ref(k->peer);
    if (k->d && !(n->d = EVP_PKEY_CTX_dup(k->d))) {
        kx_freectx(n);
        return NULL;
    }
    return n;
}

static int kx_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    kx_ctx *k = vctx;
    if (!params || !params[0].key)
        return 1;
    if (k->d)
        return EVP_PKEY_CTX_set_params(k->d, (OSSL_PARAM *)params) == 1;
    /* TPM ECDH: only the plain defaults */
    for (const OSSL_PARAM *p = params; p->key; p++) {
        int v = 0;
        if (!strcmp(p->key, OSSL_EXCHANGE_PARAM_EC_ECDH_COFACTOR_MODE) &&
            OSSL_PARAM_get_int(p, &v) && v <= 0)
            continue;
        if (!strcmp(p->key, OSSL_EXCHANGE_PARAM_KDF_TYPE)) {
            const char *s = NULL;
            if (OSSL_PARAM_get_utf8_string_ptr(p, &s) && (!s || !*s))
                continue;
        }
        dp_raise(k->ctx, DP_R_UNSUPPORTED, "TPM ECDH does not support %s", p->key);
        return 0;
    }
    return 1;
}

static int kx_init(void *vctx, void *vkey, const OSSL_PARAM params[])
{
    kx_ctx *k = vctx;
    dp_key *key = vkey;
    if (!key || !key->pub)
        return 0;
    EVP_PKEY_CTX_free(k->d);
    k->d = NULL;
    dp_key_free(k->key);
    k->key = dp_key_ref(key);
    if (key->tpm) {
        if (!dp_core_ready(k->ctx))
            return 0;
        if (!(devid_key_get_flags(key->tpm) & DEVID_KEY_CAN_DECRYPT)) {
            dp_raise(k->ctx, DP_R_KEY_USAGE, "TPM key 0x%08x is not an ECDH (decrypt) key",
                     devid_key_get_handle(key->tpm));
            return 0;
        }
    } else {
        k->d = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, DP_SW_PROPQ);
        if (!k->d || EVP_PKEY_derive_init(k->d) != 1) {
            dp_raise(k->ctx, DP_R_OPENSSL, "setting up ECDH");
            return 0;
        }
    }
    return kx_set_ctx_params(k, params);
}

static int kx_set_peer(void *vctx, void *vpeer)
{
    kx_ctx *k = vctx;
    dp_key *peer = vpeer;
    if (!peer || !peer->pub)
        return 0;
    if (k->d && EVP_PKEY_derive_set_peer_ex(k->d, peer->pub, 1) != 1)
        return 0;
    dp_key_free(k->peer);
    k->peer = dp_key_ref(peer);
    return 1;
}

static int kx_derive(void *vctx, unsigned char *secret, size_t *secretlen, size_t outlen)
{
    kx_ctx *k = vctx;
    if (!k->key || !k->peer) {
        dp_raise(k->ctx, DP_R_ARG, "ECDH needs a key and a peer key");
        return 0;
    }
    if (k->d) {
        size_t len = secret ? outlen : 0;
        if (EVP_PKEY_derive(k->d, secret, &len) != 1)
            return 0;
        *secretlen = len;
        return 1;
    }
    size_t field = (size_t)(EVP_PKEY_get_bits(k->key->pub) + 7) / 8;
    if (!secret) {
        *secretlen = field;
        return 1;
    }
    unsigned char point[256];
    size_t plen = 0;
    if (EVP_PKEY_get_octet_string_param(k->peer->pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point),
                                        &plen) != 1 ||
        EVP_PKEY_parameters_eq(k->key->pub, k->peer->pub) != 1) {
        dp_raise(k->ctx, DP_R_ARG, "peer key is not a point on the key's curve");
        return 0;
    }
    unsigned char z[128];
    size_t zlen = sizeof(z);
    devid_rc rc = devid_key_ecdh(k->key->tpm, point, plen, z, &zlen);
    if (rc != DEVID_OK) {
        dp_raise_rc(k->ctx, rc, "ECDH in the TPM");
        return 0;
    }
    if (zlen > outlen) {
        OPENSSL_cleanse(z, sizeof(z));
        dp_raise(k->ctx, DP_R_BUFFER, "shared secret needs %zu bytes", zlen);
        return 0;
    }
    memcpy(secret, z, zlen);
    OPENSSL_cleanse(z, sizeof(z));
    *secretlen = zlen;
    return 1;
}

static int kx_get_ctx_params(void *vctx, OSSL_PARAM params[])
{
    kx_ctx *k = vctx;
    return k->d ? EVP_PKEY_CTX_get_params(k->d, params) == 1 : 1;
}

static const OSSL_PARAM *kx_settable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYEXCH, "ECDH", DP_SW_SETTABLE);
}
static const OSSL_PARAM *kx_gettable(void *vctx, void *provctx)
{
    (void)vctx;
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYEXCH, "ECDH", DP_SW_GETTABLE);
}

const OSSL_DISPATCH dp_ecdh_keyexch_functions[] = {
    { OSSL_FUNC_KEYEXCH_NEWCTX, (void (*)(void))kx_newctx },
    { OSSL_FUNC_KEYEXCH_INIT, (void (*)(void))kx_init },
    { OSSL_FUNC_KEYEXCH_SET_PEER, (void (*)(void))kx_set_peer },
    { OSSL_FUNC_KEYEXCH_DERIVE, (void (*)(void))kx_derive },
    { OSSL_FUNC_KEYEXCH_FREECTX, (void (*)(void))kx_freectx },
    { OSSL_FUNC_KEYEXCH_DUPCTX, (void (*)(void))kx_dupctx },
    { OSSL_FUNC_KEYEXCH_SET_CTX_PARAMS, (void (*)(void))kx_set_ctx_params },
    { OSSL_FUNC_KEYEXCH_SETTABLE_CTX_PARAMS, (void (*)(void))kx_settable },
    { OSSL_FUNC_KEYEXCH_GET_CTX_PARAMS, (void (*)(void))kx_get_ctx_params },
    { OSSL_FUNC_KEYEXCH_GETTABLE_CTX_PARAMS, (void (*)(void))kx_gettable },
    { 0, NULL },
};
