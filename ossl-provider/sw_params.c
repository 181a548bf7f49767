/* SPDX-License-Identifier: Apache-2.0 */
/* The default provider's parameter descriptions, advertised by devid's operations as their own
 * (a default-provider context parses every parameter: the shadow context of a TPM operation,
 * or the delegate of a soft one). They are static data of libcrypto's built-in default
 * provider, so one fetch per list serves the whole process. */
#include "provider.h"

#include <pthread.h>
#include <string.h>

typedef struct sw_entry {
    int op;
    const char *alg;
    dp_sw_list which;
    const OSSL_PARAM *list;
} sw_entry;

static pthread_mutex_t sw_lock = PTHREAD_MUTEX_INITIALIZER;
static sw_entry sw_cache[24];
static size_t sw_count;

static const OSSL_PARAM *keymgmt_list(const char *alg, dp_sw_list which)
{
    EVP_KEYMGMT *km = EVP_KEYMGMT_fetch(NULL, alg, DP_SW_PROPQ);
    if (!km)
        return NULL;
    const OSSL_PARAM *l = which == DP_SW_GETTABLE   ? EVP_KEYMGMT_gettable_params(km)
                          : which == DP_SW_SETTABLE ? EVP_KEYMGMT_settable_params(km)
                                                    : EVP_KEYMGMT_gen_settable_params(km);
    EVP_KEYMGMT_free(km);
    return l;
}

static const OSSL_PARAM *signature_list(const char *alg, dp_sw_list which)
{
    EVP_SIGNATURE *sig = EVP_SIGNATURE_fetch(NULL, alg, DP_SW_PROPQ);
    if (!sig)
        return NULL;
    const OSSL_PARAM *l = which == DP_SW_SETTABLE ? EVP_SIGNATURE_settable_ctx_params(sig)
                                                  : EVP_SIGNATURE_gettable_ctx_params(sig);
    EVP_SIGNATURE_free(sig);
    return l;
}

static const OSSL_PARAM *keyexch_list(const char *alg, dp_sw_list which)
{
    EVP_KEYEXCH *kx = EVP_KEYEXCH_fetch(NULL, alg, DP_SW_PROPQ);
    if (!kx)
        return NULL;
    const OSSL_PARAM *l = which == DP_SW_SETTABLE ? EVP_KEYEXCH_settable_ctx_params(kx)
                                                  : EVP_KEYEXCH_gettable_ctx_params(kx);
    EVP_KEYEXCH_free(kx);
    return l;
}

static const OSSL_PARAM *asym_cipher_list(const char *alg, dp_sw_list which)
{
    EVP_ASYM_CIPHER *c = EVP_ASYM_CIPHER_fetch(NULL, alg, DP_SW_PROPQ);
    if (!c)
        return NULL;
    const OSSL_PARAM *l = which == DP_SW_SETTABLE ? EVP_ASYM_CIPHER_settable_ctx_params(c)
                                                  : EVP_ASYM_CIPHER_gettable_ctx_params(c);
    EVP_ASYM_CIPHER_free(c);
    return l;
}

static const OSSL_PARAM *fetch_list(int op, const char *alg, dp_sw_list which)
{
    switch (op) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_list(alg, which);
    case OSSL_OP_SIGNATURE:
        return signature_list(alg, which);
    case OSSL_OP_KEYEXCH:
        return keyexch_list(alg, which);
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_list(alg, which);
    default:
        return NULL;
    }
}

const OSSL_PARAM *dp_sw_params(int op, const char *alg, dp_sw_list which)
{
    static const OSSL_PARAM empty[] = { OSSL_PARAM_END };
    const OSSL_PARAM *list = NULL;
    pthread_mutex_lock(&sw_lock);
    for (size_t i = 0; i < sw_count && !list; i++)
        if (sw_cache[i].op == op && sw_cache[i].which == which && !strcmp(sw_cache[i].alg, alg))
            list = sw_cache[i].list;
    if (!list) {
        list = fetch_list(op, alg, which);
        if (list && sw_count < sizeof(sw_cache) / sizeof(sw_cache[0]))
            sw_cache[sw_count++] = (sw_entry){ op, alg, which, list };
    }
    pthread_mutex_unlock(&sw_lock);
    return list ? list : empty;
}
