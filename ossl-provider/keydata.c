/* SPDX-License-Identifier: Apache-2.0 */
/* Key objects shared by keymgmt, signature, keyexch, asym cipher, encoders and decoders:
 * a TPM key (devid_key + its public EVP_PKEY) or a soft key (a default-provider EVP_PKEY).
 * Reference counted: the store loader and decoders hand out references, keymgmt load takes
 * one, so no object outlives its last user and none is freed under one. */
#include "provider.h"

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <stdlib.h>

dp_key *dp_key_new(dp_ctx *ctx, devid_key_type type)
{
    dp_key *key = calloc(1, sizeof(*key));
    if (!key) {
        dp_raise(ctx, DP_R_MEMORY, "key allocation");
        return NULL;
    }
    key->refs = 1;
    key->ctx = ctx;
    key->type = type;
    return key;
}

dp_key *dp_key_from_tpm(dp_ctx *ctx, devid_key *tpm)
{
    dp_key *key = dp_key_new(ctx, devid_key_get_type(tpm));
    if (!key) {
        devid_key_free(tpm);
        return NULL;
    }
    key->tpm = tpm;
    key->pub = devid_key_get_public(tpm);
    key->sel = OSSL_KEYMGMT_SELECT_ALL;
    return key;
}

dp_key *dp_key_from_soft(dp_ctx *ctx, devid_key_type type, EVP_PKEY *pkey, int sel)
{
    dp_key *key = dp_key_new(ctx, type);
    if (!key) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    key->pub = pkey;
    key->sel = sel;
    return key;
}

dp_key *dp_key_ref(dp_key *key)
{
    if (key)
        __atomic_add_fetch(&key->refs, 1, __ATOMIC_RELAXED);
    return key;
}

void dp_key_free(dp_key *key)
{
    if (!key || __atomic_sub_fetch(&key->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (key->tpm)
        devid_key_free(key->tpm); /* also frees its public EVP_PKEY */
    else
        EVP_PKEY_free(key->pub);
    free(key);
}

const char *dp_key_type_name(devid_key_type type)
{
    return type == DEVID_KEY_EC ? "EC" : "RSA";
}

int dp_key_object_cb(dp_key *key, OSSL_CALLBACK *cb, void *cbarg)
{
    dp_objref ref = { .magic = DP_KEY_REF_MAGIC, .key = key };
    int objtype = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4];
    params[0] = OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &objtype);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                                 (char *)dp_key_type_name(key->type), 0);
    params[2] = OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &ref, sizeof(ref));
    params[3] = OSSL_PARAM_construct_end();
    return cb(params, cbarg);
}
