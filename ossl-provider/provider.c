/* SPDX-License-Identifier: Apache-2.0 */
/* Provider entry point: OSSL_provider_init, the algorithm tables and provider parameters.
 *
 * Config keys in the provider's openssl.cnf section (tcti, store, log, conf) are exported as
 * DEVID_TCTI / DEVID_STORE / DEVID_LOG / DEVID_CONF before core starts, unless the environment
 * already sets them: environment > openssl.cnf > devid.conf > defaults.
 */
#include "provider.h"

#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DP_VERSION "0.1.0"

static const OSSL_ALGORITHM keymgmt_algs[] = {
    { DP_NAMES_EC, DP_PROPS, dp_ec_keymgmt_functions, "devid EC (TPM keys; others via default)" },
    { DP_NAMES_RSA, DP_PROPS, dp_rsa_keymgmt_functions,
      "devid RSA (TPM keys; others via default)" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM signature_algs[] = {
    { DP_OP_ECDSA, DP_PROPS, dp_ecdsa_signature_functions, "ECDSA in the TPM" },
    { DP_OP_RSA, DP_PROPS, dp_rsa_signature_functions, "RSA PKCS#1 v1.5 / PSS in the TPM" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM keyexch_algs[] = {
    { DP_OP_ECDH, DP_PROPS, dp_ecdh_keyexch_functions, "ECDH in the TPM" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM asym_cipher_algs[] = {
    { DP_OP_RSA, DP_PROPS, dp_rsa_asym_cipher_functions, "RSA decryption in the TPM" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM store_algs[] = {
    { "devid", DP_PROPS, dp_store_functions, "devid: URIs (TPM identities and the store)" },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM encoder_algs[] = {
    { DP_NAMES_EC, DP_PROPS ",output=der,structure=SubjectPublicKeyInfo",
      dp_spki_der_ec_encoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",output=der,structure=SubjectPublicKeyInfo",
      dp_spki_der_rsa_encoder_functions, NULL },
    { DP_NAMES_EC, DP_PROPS ",output=pem,structure=SubjectPublicKeyInfo",
      dp_spki_pem_ec_encoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",output=pem,structure=SubjectPublicKeyInfo",
      dp_spki_pem_rsa_encoder_functions, NULL },
    { DP_NAMES_EC, DP_PROPS ",output=text", dp_text_ec_encoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",output=text", dp_text_rsa_encoder_functions, NULL },
    /* what reloads a TPM key: TSS2 PRIVATE KEY or a reference file */
    { DP_NAMES_EC, DP_PROPS ",output=pem,structure=PrivateKeyInfo",
      dp_priv_pem_ec_encoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",output=pem,structure=PrivateKeyInfo",
      dp_priv_pem_rsa_encoder_functions, NULL },
    { DP_NAMES_EC, DP_PROPS ",output=der,structure=PrivateKeyInfo",
      dp_priv_der_ec_encoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",output=der,structure=PrivateKeyInfo",
      dp_priv_der_rsa_encoder_functions, NULL },
    { NULL, NULL, NULL, NULL },
};

static const OSSL_ALGORITHM decoder_algs[] = {
    /* TSS2 PRIVATE KEY PEM and devid key reference files */
    { DP_NAMES_EC, DP_PROPS ",input=pem", dp_pem_ec_decoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",input=pem", dp_pem_rsa_decoder_functions, NULL },
    /* TSS2 PRIVATE KEY DER */
    { DP_NAMES_EC, DP_PROPS ",input=der,structure=TSS2", dp_der_ec_decoder_functions, NULL },
    { DP_NAMES_RSA, DP_PROPS ",input=der,structure=TSS2", dp_der_rsa_decoder_functions, NULL },
    /* TSS2 PRIVATE KEY PEM -> DER (for the file: store loader) */
    { "DER", DP_PROPS ",input=pem", dp_tss2_pem2der_decoder_functions, NULL },
    { NULL, NULL, NULL, NULL },
};

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_provider_query_operation_fn query;
static OSSL_FUNC_provider_gettable_params_fn gettable_params;
static OSSL_FUNC_provider_get_params_fn get_params;
static OSSL_FUNC_provider_get_reason_strings_fn get_reason_strings;
static OSSL_FUNC_provider_get_capabilities_fn get_capabilities;
static OSSL_FUNC_provider_teardown_fn teardown;

static const OSSL_ALGORITHM *query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return keymgmt_algs;
    case OSSL_OP_SIGNATURE:
        return signature_algs;
    case OSSL_OP_KEYEXCH:
        return keyexch_algs;
    case OSSL_OP_ASYM_CIPHER:
        return asym_cipher_algs;
    case OSSL_OP_STORE:
        return store_algs;
    case OSSL_OP_ENCODER:
        return encoder_algs;
    case OSSL_OP_DECODER:
        return decoder_algs;
    default:
        return NULL;
    }
}

static const OSSL_PARAM *gettable_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_NAME, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_VERSION, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_BUILDINFO, OSSL_PARAM_UTF8_PTR, NULL, 0),
        OSSL_PARAM_DEFN(OSSL_PROV_PARAM_STATUS, OSSL_PARAM_INTEGER, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static int get_params(void *provctx, OSSL_PARAM params[])
{
    (void)provctx;
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_NAME)) &&
        !OSSL_PARAM_set_utf8_ptr(p, "devid TPM 2.0 device identity provider"))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_VERSION)) &&
        !OSSL_PARAM_set_utf8_ptr(p, DP_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_BUILDINFO)) &&
        !OSSL_PARAM_set_utf8_ptr(p, "devid " DP_VERSION))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_PROV_PARAM_STATUS)) && !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}

static const OSSL_ITEM *get_reason_strings(void *provctx)
{
    (void)provctx;
    return dp_reason_strings;
}

/* TLS groups. libssl uses a group only if the provider advertising it is the one its
 * keymgmt fetch returns; when our "EC" keymgmt wins that fetch, the default provider's EC
 * groups are dropped unless we advertise them too. We pass on exactly the default provider's
 * EC groups (our keymgmt generates those keys with the default provider). */
typedef struct cap_filter {
    OSSL_CALLBACK *cb;
    void *arg;
} cap_filter;

static int ec_groups_only(const OSSL_PARAM params[], void *arg)
{
    cap_filter *f = arg;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_CAPABILITY_TLS_GROUP_ALG);
    const char *alg = NULL;
    if (!p || !OSSL_PARAM_get_utf8_string_ptr(p, &alg) || strcmp(alg, "EC") != 0)
        return 1;
    return f->cb(params, f->arg);
}

static int get_capabilities(void *provctx, const char *capability, OSSL_CALLBACK *cb, void *arg)
{
    dp_ctx *ctx = provctx;
    if (strcmp(capability, "TLS-GROUP") != 0)
        return 1;
    if (!OSSL_PROVIDER_available(ctx->libctx, "default"))
        return 1; /* nothing to generate the keys with */
    OSSL_PROVIDER *dflt = OSSL_PROVIDER_load(ctx->libctx, "default"); /* a reference */
    if (!dflt)
        return 1;
    cap_filter f = { cb, arg };
    int ok = OSSL_PROVIDER_get_capabilities(dflt, capability, ec_groups_only, &f);
    OSSL_PROVIDER_unload(dflt);
    return ok;
}

static void teardown(void *provctx)
{
    dp_ctx *ctx = provctx;
    if (ctx->core_ok)
        devid_core_fini();
    free(ctx);
}

static const OSSL_DISPATCH provider_functions[] = {
    { OSSL_FUNC_PROVIDER_TEARDOWN, (void (*)(void))teardown },
    { OSSL_FUNC_PROVIDER_GETTABLE_PARAMS, (void (*)(void))gettable_params },
    { OSSL_FUNC_PROVIDER_GET_PARAMS, (void (*)(void))get_params },
    { OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))query },
    { OSSL_FUNC_PROVIDER_GET_REASON_STRINGS, (void (*)(void))get_reason_strings },
    { OSSL_FUNC_PROVIDER_GET_CAPABILITIES, (void (*)(void))get_capabilities },
    { 0, NULL },
};

/* The openssl.cnf keys of our section, for core (the environment still wins over them). */
static devid_settings read_settings(const OSSL_CORE_HANDLE *handle,
                                    OSSL_FUNC_core_get_params_fn *get)
{
    devid_settings s = { .origin = "openssl.cnf" };
    char *tcti = NULL, *store = NULL, *log = NULL, *conf = NULL;
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_ptr("tcti", &tcti, 0),
        OSSL_PARAM_utf8_ptr("store", &store, 0),
        OSSL_PARAM_utf8_ptr("log", &log, 0),
        OSSL_PARAM_utf8_ptr("conf", &conf, 0),
        OSSL_PARAM_END,
    };
    if (get && get(handle, params)) {
        s.tcti = tcti;
        s.store = store;
        s.log = log;
        s.conf = conf;
    }
    return s;
}

__attribute__((visibility("default"))) int OSSL_provider_init(const OSSL_CORE_HANDLE *handle,
                                                              const OSSL_DISPATCH *in,
                                                              const OSSL_DISPATCH **out,
                                                              void **provctx)
{
    dp_ctx *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return 0;
    ctx->handle = handle;
    OSSL_FUNC_core_get_params_fn *get_params_fn = NULL;
    for (; in && in->function_id; in++) {
        switch (in->function_id) {
        case OSSL_FUNC_CORE_GET_PARAMS:
            get_params_fn = OSSL_FUNC_core_get_params(in);
            break;
        case OSSL_FUNC_CORE_GET_LIBCTX:
            ctx->libctx = (OSSL_LIB_CTX *)OSSL_FUNC_core_get_libctx(in)(handle);
            break;
        case OSSL_FUNC_CORE_NEW_ERROR:
            ctx->new_error = OSSL_FUNC_core_new_error(in);
            break;
        case OSSL_FUNC_CORE_SET_ERROR_DEBUG:
            ctx->set_error_debug = OSSL_FUNC_core_set_error_debug(in);
            break;
        case OSSL_FUNC_CORE_VSET_ERROR:
            ctx->vset_error = OSSL_FUNC_core_vset_error(in);
            break;
        case OSSL_FUNC_BIO_READ_EX:
            ctx->bio_read_ex = OSSL_FUNC_BIO_read_ex(in);
            break;
        case OSSL_FUNC_BIO_WRITE_EX:
            ctx->bio_write_ex = OSSL_FUNC_BIO_write_ex(in);
            break;
        default:
            break;
        }
    }
    /* A bad configuration does not stop the provider from loading (so `openssl list` and
     * operations on non-TPM keys work); operations on TPM objects report it. */
    devid_settings settings = read_settings(handle, get_params_fn);
    devid_rc rc = devid_core_init_with(&settings);
    if (rc == DEVID_OK) {
        ctx->core_ok = true;
    } else {
        snprintf(ctx->core_error, sizeof(ctx->core_error), "%s", devid_last_error());
    }
    *out = provider_functions;
    *provctx = ctx;
    return 1;
}
