/* SPDX-License-Identifier: Apache-2.0 */
/* KEYMGMT for EC and RSA.
 *
 * TPM keys: public parts from core (bits, security-bits, max-size, default digest, EC group and
 * point, RSA n/e all come from the public EVP_PKEY), the private part never leaves: export
 * with the private selection fails, which makes OpenSSL run private-key operations here.
 * Everything else (imports, generated ephemeral keys) is a soft key handled by the default
 * provider (see provider.h). Key generation into the TPM store is requested with the gen
 * parameter "devid-label" (openssl genpkey -pkeyopt devid-label:NAME).
 */
#include "keymgmt.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int evp_selection(int sel)
{
    if (sel & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
        return EVP_PKEY_KEYPAIR;
    if (sel & OSSL_KEYMGMT_SELECT_PUBLIC_KEY)
        return EVP_PKEY_PUBLIC_KEY;
    return EVP_PKEY_KEY_PARAMETERS;
}

/* ---- basic object functions ---- */

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_keymgmt_new_fn ec_new, rsa_new;
static OSSL_FUNC_keymgmt_free_fn km_free;
static OSSL_FUNC_keymgmt_has_fn km_has;
static OSSL_FUNC_keymgmt_match_fn km_match;
static OSSL_FUNC_keymgmt_validate_fn km_validate;
static OSSL_FUNC_keymgmt_load_fn km_load;
static OSSL_FUNC_keymgmt_dup_fn km_dup;
static OSSL_FUNC_keymgmt_import_fn km_import;
static OSSL_FUNC_keymgmt_export_fn km_export;
static OSSL_FUNC_keymgmt_import_types_fn ec_types, rsa_types;
static OSSL_FUNC_keymgmt_get_params_fn km_get_params;
static OSSL_FUNC_keymgmt_set_params_fn km_set_params;
static OSSL_FUNC_keymgmt_gettable_params_fn ec_gettable, rsa_gettable;
static OSSL_FUNC_keymgmt_settable_params_fn ec_settable, rsa_settable;
static OSSL_FUNC_keymgmt_query_operation_name_fn ec_query_operation_name, rsa_query_operation_name;
static OSSL_FUNC_keymgmt_gen_set_params_fn gen_set_params;
static OSSL_FUNC_keymgmt_gen_cleanup_fn gen_cleanup;
static OSSL_FUNC_keymgmt_gen_init_fn ec_gen_init, rsa_gen_init;
static OSSL_FUNC_keymgmt_gen_set_template_fn gen_set_template;
static OSSL_FUNC_keymgmt_gen_fn gen;
static OSSL_FUNC_keymgmt_gen_settable_params_fn ec_gen_settable, rsa_gen_settable;

static void *ec_new(void *provctx)
{
    return dp_key_new(provctx, DEVID_KEY_EC);
}
static void *rsa_new(void *provctx)
{
    return dp_key_new(provctx, DEVID_KEY_RSA);
}
static void km_free(void *keydata)
{
    dp_key_free(keydata);
}

static int km_has(const void *keydata, int selection)
{
    const dp_key *key = keydata;
    if (!key)
        return 0;
    int want = selection & OSSL_KEYMGMT_SELECT_ALL;
    if (key->type == DEVID_KEY_RSA) /* RSA has no domain parameters: always "present" */
        want &= ~OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    return key->pub && (key->sel & want) == want;
}

static int km_match(const void *a, const void *b, int selection)
{
    const dp_key *k1 = a, *k2 = b;
    if (!k1->pub || !k2->pub || k1->type != k2->type)
        return 0;
    if (k1->tpm && k2->tpm && devid_key_get_handle(k1->tpm) != 0 &&
        devid_key_get_handle(k1->tpm) == devid_key_get_handle(k2->tpm))
        return 1;
    int ok = 1;
    if (k1->type == DEVID_KEY_EC && (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS))
        ok = EVP_PKEY_parameters_eq(k1->pub, k2->pub) == 1;
    if (ok && (selection & OSSL_KEYMGMT_SELECT_KEYPAIR)) {
        /* Private parts are never compared (a TPM key's never leaves); the public part
         * identifies the key pair. */
        bool pubs = (k1->sel & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) &&
                    (k2->sel & OSSL_KEYMGMT_SELECT_PUBLIC_KEY);
        ok = pubs && EVP_PKEY_eq(k1->pub, k2->pub) == 1;
    }
    return ok;
}

static int km_validate(const void *keydata, int selection, int checktype)
{
    (void)checktype;
    const dp_key *key = keydata;
    if (!km_has(keydata, selection))
        return 0;
    if (key->tpm || !(selection & OSSL_KEYMGMT_SELECT_KEYPAIR))
        return 1; /* the TPM vouches for its own keys */
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, key->pub, DP_SW_PROPQ);
    int ok = c && ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ? EVP_PKEY_check(c)
                                                                 : EVP_PKEY_public_check(c)) == 1;
    EVP_PKEY_CTX_free(c);
    return ok;
}

static void *km_load(const void *reference, size_t reference_sz)
{
    const dp_objref *ref = reference;
    if (!ref || reference_sz != sizeof(*ref) || ref->magic != DP_KEY_REF_MAGIC || !ref->key)
        return NULL;
    return dp_key_ref(ref->key);
}

static void *km_dup(const void *keydata, int selection)
{
    (void)selection;
    dp_key *key = (dp_key *)keydata;
    if (key->tpm || !key->pub)
        return key->tpm ? dp_key_ref(key) : dp_key_new(key->ctx, key->type);
    EVP_PKEY *copy = EVP_PKEY_dup(key->pub);
    if (!copy) {
        dp_raise(key->ctx, DP_R_OPENSSL, "duplicating a %s key", dp_key_type_name(key->type));
        return NULL;
    }
    return dp_key_from_soft(key->ctx, key->type, copy, key->sel);
}

/* ---- import / export ---- */

static int present_parts(devid_key_type type, const OSSL_PARAM params[], int selection)
{
    int sel = 0;
    const char *pub = type == DEVID_KEY_EC ? OSSL_PKEY_PARAM_PUB_KEY : OSSL_PKEY_PARAM_RSA_N;
    const char *priv = type == DEVID_KEY_EC ? OSSL_PKEY_PARAM_PRIV_KEY : OSSL_PKEY_PARAM_RSA_D;
    if (type == DEVID_KEY_RSA || OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME) ||
        OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_EC_FIELD_TYPE))
        sel |= OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    if (OSSL_PARAM_locate_const(params, pub))
        sel |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    if (OSSL_PARAM_locate_const(params, priv))
        sel |= OSSL_KEYMGMT_SELECT_PRIVATE_KEY;
    return sel & selection;
}

static int km_import(void *keydata, int selection, const OSSL_PARAM params[])
{
    dp_key *key = keydata;
    if (!key || key->pub || key->tpm) {
        dp_raise(key ? key->ctx : NULL, DP_R_ARG, "import into a key that is already set");
        return 0;
    }
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, dp_key_type_name(key->type), DP_SW_PROPQ);
    EVP_PKEY *pkey = NULL;
    if (!c || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, &pkey, evp_selection(selection), (OSSL_PARAM *)params) != 1) {
        EVP_PKEY_CTX_free(c);
        dp_raise(key->ctx, DP_R_OPENSSL, "importing %s key data", dp_key_type_name(key->type));
        return 0;
    }
    EVP_PKEY_CTX_free(c);
    key->pub = pkey;
    key->sel = present_parts(key->type, params, selection);
    return 1;
}

static int km_export(void *keydata, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    dp_key *key = keydata;
    if (!key || !key->pub)
        return 0;
    /* A TPM key's private part cannot be exported. Failing (quietly: OpenSSL tries this as
     * a probe and then falls back to our own operations) is what routes signing to us. */
    if (key->tpm && (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY))
        return 0;
    OSSL_PARAM *params = NULL;
    if (EVP_PKEY_todata(key->pub, evp_selection(selection & key->sel), &params) != 1) {
        dp_raise(key->ctx, DP_R_OPENSSL, "exporting %s key data", dp_key_type_name(key->type));
        return 0;
    }
    int ok = cb(params, cbarg);
    OSSL_PARAM_free(params);
    return ok;
}

#define EC_PUBLIC_TYPES                                                                            \
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),                                   \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_ENCODING, NULL, 0),                              \
        OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, NULL, 0),               \
        OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0)

static const OSSL_PARAM ec_public_types[] = { EC_PUBLIC_TYPES, OSSL_PARAM_END };
static const OSSL_PARAM ec_all_types[] = { EC_PUBLIC_TYPES,
                                           OSSL_PARAM_BN(OSSL_PKEY_PARAM_PRIV_KEY, NULL, 0),
                                           OSSL_PARAM_END };
static const OSSL_PARAM rsa_public_types[] = { OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                               OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
                                               OSSL_PARAM_END };
static const OSSL_PARAM rsa_all_types[] = { OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_N, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_E, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_D, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR1, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_FACTOR2, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT1, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_EXPONENT2, NULL, 0),
                                            OSSL_PARAM_BN(OSSL_PKEY_PARAM_RSA_COEFFICIENT1, NULL,
                                                          0),
                                            OSSL_PARAM_END };

static const OSSL_PARAM *ec_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ? ec_all_types : ec_public_types;
}
static const OSSL_PARAM *rsa_types(int selection)
{
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) ? rsa_all_types : rsa_public_types;
}

/* ---- parameters ---- */

static int km_get_params(void *keydata, OSSL_PARAM params[])
{
    dp_key *key = keydata;
    if (!key || !key->pub)
        return 0;
    return EVP_PKEY_get_params(key->pub, params);
}

static int km_set_params(void *keydata, const OSSL_PARAM params[])
{
    dp_key *key = keydata;
    if (!key)
        return 0;
    if (!params || !params[0].key)
        return 1;
    if (key->tpm || !key->pub) {
        dp_raise(key->ctx, DP_R_PROHIBITED, "cannot set parameters of this key (%s)",
                 params[0].key);
        return 0;
    }
    if (EVP_PKEY_set_params(key->pub, (OSSL_PARAM *)params) != 1)
        return 0;
    if (OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY))
        key->sel |= OSSL_KEYMGMT_SELECT_PUBLIC_KEY;
    return 1;
}

static const OSSL_PARAM *ec_gettable(void *provctx)
{
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYMGMT, "EC", DP_SW_GETTABLE);
}
static const OSSL_PARAM *rsa_gettable(void *provctx)
{
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYMGMT, "RSA", DP_SW_GETTABLE);
}
static const OSSL_PARAM *ec_settable(void *provctx)
{
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYMGMT, "EC", DP_SW_SETTABLE);
}
static const OSSL_PARAM *rsa_settable(void *provctx)
{
    (void)provctx;
    return dp_sw_params(OSSL_OP_KEYMGMT, "RSA", DP_SW_SETTABLE);
}

static const char *ec_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
        return DP_OP_ECDSA;
    case OSSL_OP_KEYEXCH:
        return DP_OP_ECDH;
    default:
        return NULL;
    }
}
static const char *rsa_query_operation_name(int operation_id)
{
    switch (operation_id) {
    case OSSL_OP_SIGNATURE:
    case OSSL_OP_ASYM_CIPHER:
        return DP_OP_RSA;
    default:
        return NULL;
    }
}

/* ---- generation ---- */

typedef struct gen_ctx {
    dp_ctx *ctx;
    devid_key_type type;
    int selection;
    EVP_PKEY_CTX *sw;  /* the default provider's generator */
    dp_keygen_req tpm; /* set by devid-* parameters: generate in the TPM store */
} gen_ctx;

static int gen_set_params(void *genctx, const OSSL_PARAM params[])
{
    gen_ctx *g = genctx;
    if (!params)
        return 1;
    int r = dp_keygen_parse(g->ctx, g->type, &g->tpm, params);
    if (r <= 0)
        return 0;
    /* Everything else configures the software generator (and the TPM one: group, bits). */
    return EVP_PKEY_CTX_set_params(g->sw, (OSSL_PARAM *)params) == 1;
}

static void gen_cleanup(void *genctx)
{
    gen_ctx *g = genctx;
    if (!g)
        return;
    EVP_PKEY_CTX_free(g->sw);
    dp_keygen_req_clear(&g->tpm);
    free(g);
}

static void *gen_init(dp_ctx *ctx, devid_key_type type, int selection, const OSSL_PARAM params[])
{
    gen_ctx *g = calloc(1, sizeof(*g));
    if (!g) {
        dp_raise(ctx, DP_R_MEMORY, "key generation context");
        return NULL;
    }
    g->ctx = ctx;
    g->type = type;
    g->selection = selection;
    g->sw = EVP_PKEY_CTX_new_from_name(NULL, dp_key_type_name(type), DP_SW_PROPQ);
    int ok = g->sw != NULL;
    if (ok)
        ok = ((selection & OSSL_KEYMGMT_SELECT_KEYPAIR) ? EVP_PKEY_keygen_init(g->sw)
                                                        : EVP_PKEY_paramgen_init(g->sw)) == 1;
    if (!ok) {
        dp_raise(ctx, DP_R_OPENSSL, "setting up %s key generation", dp_key_type_name(type));
        gen_cleanup(g);
        return NULL;
    }
    if (!gen_set_params(g, params)) {
        gen_cleanup(g);
        return NULL;
    }
    return g;
}

static void *ec_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, DEVID_KEY_EC, selection, params);
}
static void *rsa_gen_init(void *provctx, int selection, const OSSL_PARAM params[])
{
    return gen_init(provctx, DEVID_KEY_RSA, selection, params);
}

static int gen_set_template(void *genctx, void *templ)
{
    gen_ctx *g = genctx;
    dp_key *t = templ;
    if (!t || !t->pub)
        return 0;
    if (t->type == DEVID_KEY_RSA)
        return 1; /* RSA has no domain parameters to copy */
    OSSL_PARAM *params = NULL;
    if (EVP_PKEY_todata(t->pub, EVP_PKEY_KEY_PARAMETERS, &params) != 1)
        return 0;
    int ok = gen_set_params(g, params);
    OSSL_PARAM_free(params);
    return ok;
}

static void *gen(void *genctx, OSSL_CALLBACK *cb, void *cbarg)
{
    (void)cb;
    (void)cbarg;
    gen_ctx *g = genctx;
    if (g->tpm.requested)
        return dp_keygen_tpm(g->ctx, g->type, &g->tpm);
    EVP_PKEY *pkey = NULL;
    if (EVP_PKEY_generate(g->sw, &pkey) != 1) {
        dp_raise(g->ctx, DP_R_OPENSSL, "generating a %s key", dp_key_type_name(g->type));
        return NULL;
    }
    int sel = (g->selection & OSSL_KEYMGMT_SELECT_KEYPAIR) ? OSSL_KEYMGMT_SELECT_ALL
                                                           : OSSL_KEYMGMT_SELECT_ALL_PARAMETERS;
    return dp_key_from_soft(g->ctx, g->type, pkey, sel);
}

static const OSSL_PARAM *gen_settable(devid_key_type type)
{
    /* the default provider's generation parameters plus ours, merged once */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    static OSSL_PARAM *merged[3];
    pthread_mutex_lock(&lock);
    if (!merged[type]) {
        const OSSL_PARAM *sw = dp_sw_params(OSSL_OP_KEYMGMT, dp_key_type_name(type),
                                            DP_SW_GEN_SETTABLE);
        size_t n = 0, m = 0;
        while (sw[n].key)
            n++;
        while (dp_keygen_settable[m].key)
            m++;
        OSSL_PARAM *all = calloc(n + m + 1, sizeof(*all));
        if (all) {
            memcpy(all, sw, n * sizeof(*all));
            memcpy(all + n, dp_keygen_settable, (m + 1) * sizeof(*all));
            merged[type] = all; /* kept for the life of the process */
        }
    }
    pthread_mutex_unlock(&lock);
    return merged[type] ? merged[type] : dp_keygen_settable;
}

static const OSSL_PARAM *ec_gen_settable(void *genctx, void *provctx)
{
    (void)genctx;
    (void)provctx;
    return gen_settable(DEVID_KEY_EC);
}
static const OSSL_PARAM *rsa_gen_settable(void *genctx, void *provctx)
{
    (void)genctx;
    (void)provctx;
    return gen_settable(DEVID_KEY_RSA);
}

/* clang-format off */ /* braced lists in macros: clang-format 14 and 19 lay them out differently */
#define FN(id, f) { OSSL_FUNC_KEYMGMT_##id, (void (*)(void))(f) }
/* clang-format on */
#define COMMON_FUNCTIONS                                                                           \
    FN(FREE, km_free), FN(HAS, km_has), FN(MATCH, km_match), FN(VALIDATE, km_validate),            \
        FN(LOAD, km_load), FN(DUP, km_dup), FN(IMPORT, km_import), FN(EXPORT, km_export),          \
        FN(GET_PARAMS, km_get_params), FN(SET_PARAMS, km_set_params),                              \
        FN(GEN_SET_PARAMS, gen_set_params), FN(GEN_SET_TEMPLATE, gen_set_template), FN(GEN, gen),  \
        FN(GEN_CLEANUP, gen_cleanup)

const OSSL_DISPATCH dp_ec_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    FN(NEW, ec_new),
    FN(GEN_INIT, ec_gen_init),
    FN(GEN_SETTABLE_PARAMS, ec_gen_settable),
    FN(GETTABLE_PARAMS, ec_gettable),
    FN(SETTABLE_PARAMS, ec_settable),
    FN(IMPORT_TYPES, ec_types),
    FN(EXPORT_TYPES, ec_types),
    FN(QUERY_OPERATION_NAME, ec_query_operation_name),
    { 0, NULL },
};

const OSSL_DISPATCH dp_rsa_keymgmt_functions[] = {
    COMMON_FUNCTIONS,
    FN(NEW, rsa_new),
    FN(GEN_INIT, rsa_gen_init),
    FN(GEN_SETTABLE_PARAMS, rsa_gen_settable),
    FN(GETTABLE_PARAMS, rsa_gettable),
    FN(SETTABLE_PARAMS, rsa_settable),
    FN(IMPORT_TYPES, rsa_types),
    FN(EXPORT_TYPES, rsa_types),
    FN(QUERY_OPERATION_NAME, rsa_query_operation_name),
    { 0, NULL },
};
