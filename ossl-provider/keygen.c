/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation into the TPM store (core: devid_store_generate). */
#include "keymgmt.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const OSSL_PARAM dp_keygen_settable[] = {
    OSSL_PARAM_utf8_string(DP_GEN_LABEL, NULL, 0),
    OSSL_PARAM_utf8_string(DP_GEN_AUTH, NULL, 0),
    OSSL_PARAM_int(DP_GEN_DECRYPT, NULL),
    OSSL_PARAM_END,
};

static int dup_string(dp_ctx *ctx, const OSSL_PARAM *p, char **out)
{
    char *s = NULL;
    if (!OSSL_PARAM_get_utf8_string(p, &s, 0)) {
        dp_raise(ctx, DP_R_ARG, "%s must be a string", p->key);
        return 0;
    }
    if (*out) {
        OPENSSL_clear_free(*out, strlen(*out));
    }
    *out = s;
    return 1;
}

int dp_keygen_parse(dp_ctx *ctx, devid_key_type type, dp_keygen_req *req, const OSSL_PARAM params[])
{
    (void)type;
    const OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate_const(params, DP_GEN_LABEL))) {
        if (!dup_string(ctx, p, &req->label))
            return 0;
        if (strlen(req->label) == 0 || strlen(req->label) > DEVID_LABEL_MAX) {
            dp_raise(ctx, DP_R_ARG, "devid-label must be 1 to %d characters", DEVID_LABEL_MAX);
            return 0;
        }
        req->requested = true;
    }
    if ((p = OSSL_PARAM_locate_const(params, DP_GEN_AUTH)) && !dup_string(ctx, p, &req->auth))
        return 0;
    /* remembered for TPM generation (the software generator has no way to report them) */
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_GROUP_NAME))) {
        char *g = req->group;
        if (!OSSL_PARAM_get_utf8_string(p, &g, sizeof(req->group))) {
            dp_raise(ctx, DP_R_ARG, "bad EC group name");
            return 0;
        }
    }
    if ((p = OSSL_PARAM_locate_const(params, OSSL_PKEY_PARAM_RSA_BITS)) &&
        !OSSL_PARAM_get_size_t(p, &req->bits)) {
        dp_raise(ctx, DP_R_ARG, "bad RSA key size");
        return 0;
    }
    if ((p = OSSL_PARAM_locate_const(params, DP_GEN_DECRYPT))) {
        if (!OSSL_PARAM_get_int(p, &req->decrypt)) {
            /* -pkeyopt passes strings for int parameters it cannot type: accept 0/1 */
            const char *s = NULL;
            if (!OSSL_PARAM_get_utf8_string_ptr(p, &s) || (strcmp(s, "0") && strcmp(s, "1"))) {
                dp_raise(ctx, DP_R_ARG, "devid-decrypt must be 0 or 1");
                return 0;
            }
            req->decrypt = s[0] == '1';
        }
    }
    return 1;
}

void dp_keygen_req_clear(dp_keygen_req *req)
{
    free(req->label);
    if (req->auth)
        OPENSSL_clear_free(req->auth, strlen(req->auth));
    memset(req, 0, sizeof(*req));
}

dp_key *dp_keygen_tpm(dp_ctx *ctx, devid_key_type type, const dp_keygen_req *req)
{
    if (!dp_core_ready(ctx))
        return NULL;
    /* auth is never NULL: core memcpy()s it even when empty (UBSan: null argument) */
    devid_keygen p = { .type = type, .sign = true, .decrypt = req->decrypt != 0, .auth = "" };
    if (req->auth) {
        p.auth = req->auth;
        p.auth_len = strlen(req->auth);
    }
    if (type == DEVID_KEY_EC) {
        if (!req->group[0]) {
            dp_raise(ctx, DP_R_ARG, "no EC group given (use -pkeyopt group:P-256)");
            return NULL;
        }
        p.curve_nid = EC_curve_nist2nid(req->group);
        if (p.curve_nid == NID_undef)
            p.curve_nid = OBJ_txt2nid(req->group);
    } else {
        p.bits = req->bits ? (int)req->bits : 2048;
    }
    devid_store_attrs attrs = { 0 };
    snprintf(attrs.label, sizeof(attrs.label), "%s", req->label);
    char uid[DEVID_UID_LEN + 1];
    /* With PINs set, new keys are bound to the token: log in from the configured source. */
    devid_rc rc = devid_token_login_configured();
    if (rc != DEVID_OK) {
        dp_raise_rc(ctx, rc, "generating a key in the TPM");
        return NULL;
    }
    rc = devid_store_generate(&p, &attrs, uid);
    if (rc != DEVID_OK) {
        dp_raise_rc(ctx, rc, "generating a key in the TPM");
        return NULL;
    }
    devid_key *tpm = NULL;
    rc = devid_store_open_key(uid, &tpm);
    if (rc == DEVID_OK && req->auth)
        rc = devid_key_set_auth(tpm, req->auth, strlen(req->auth));
    if (rc != DEVID_OK) {
        devid_key_free(tpm);
        dp_raise_rc(ctx, rc, "opening the generated key");
        return NULL;
    }
    dp_key *key = dp_key_from_tpm(ctx, tpm);
    if (key)
        snprintf(key->uid, sizeof(key->uid), "%s", uid);
    return key;
}
