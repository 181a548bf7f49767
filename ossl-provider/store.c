/* SPDX-License-Identifier: Apache-2.0 */
/* OSSL_STORE loader for devid: URIs (uri.h): TPM identities (EK, IDevID, IAK, LDevID),
 * persistent handles and store objects, as private/public keys and certificates (a certificate
 * is followed by the CA certificates that came with it). */
#include "store.h"

#include <openssl/crypto.h>

#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/params.h>
#include <openssl/store.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct item {
    dp_key *key;
    X509 *cert;
} item;

typedef struct loader {
    dp_ctx *ctx;
    dp_uri uri;
    int expect; /* OSSL_STORE_INFO_* or 0 */
    bool collected;
    item *items;
    size_t n, cap, next;
} loader;

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_store_open_fn st_open;
static OSSL_FUNC_store_settable_ctx_params_fn st_settable_ctx_params;
static OSSL_FUNC_store_set_ctx_params_fn st_set_ctx_params;
static OSSL_FUNC_store_load_fn st_load;
static OSSL_FUNC_store_eof_fn st_eof;
static OSSL_FUNC_store_close_fn st_close;

static bool add(loader *l, dp_key *key, X509 *cert)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        item *it = realloc(l->items, cap * sizeof(*it));
        if (!it) {
            dp_key_free(key);
            X509_free(cert);
            dp_raise(l->ctx, DP_R_MEMORY, "store results");
            return false;
        }
        l->items = it;
        l->cap = cap;
    }
    l->items[l->n++] = (item){ key, cert };
    return true;
}

static bool id_matches(const dp_uri *u, EVP_PKEY *pub)
{
    if (!u->has_id)
        return true;
    unsigned char id[20];
    return pub && u->id_len == sizeof(id) && devid_pubkey_id(pub, id) == DEVID_OK &&
           memcmp(id, u->id, sizeof(id)) == 0;
}

/* Applies the URI's PIN, wraps the key. Returns NULL (raised) on failure. A public key is
 * asked for (type=public, or the application expects one): hand out only the public part,
 * which OpenSSL then reports as a public key. */
static dp_key *wrap_key(dp_ctx *ctx, const dp_uri *u, int expect, devid_key *k)
{
    if (u->type == DP_URI_PUBLIC || expect == OSSL_STORE_INFO_PUBKEY) {
        EVP_PKEY *pub = EVP_PKEY_dup(devid_key_get_public(k));
        devid_key_type type = devid_key_get_type(k);
        devid_key_free(k);
        if (!pub) {
            dp_raise(ctx, DP_R_OPENSSL, "copying the public key");
            return NULL;
        }
        return dp_key_from_soft(ctx, type, pub,
                                OSSL_KEYMGMT_SELECT_PUBLIC_KEY |
                                    OSSL_KEYMGMT_SELECT_ALL_PARAMETERS);
    }
    /* Core decides what a PIN is for: the token's user PIN for token-bound keys, the key's own
     * password for keys made with one; keys without an auth value ignore it, so a wrong PIN
     * never reaches the TPM's dictionary-attack counter for them. */
    /* Token keys without a PIN in the URI: the PIN source configured in devid.conf. */
    devid_rc rc = DEVID_OK;
    if (devid_key_token_bound(k)) {
        unsigned char secret[32];
        size_t n = 0;
        rc = u->pin ? devid_token_login_once(u->pin, u->pin_len) : devid_token_login_configured();
        if (rc == DEVID_OK)
            rc = devid_token_key_auth(secret, &n);
        if (rc == DEVID_OK)
            rc = devid_key_set_auth(k, secret, n);
        OPENSSL_cleanse(secret, sizeof(secret));
        if (rc != DEVID_OK && !u->pin) {
            devid_key_free(k);
            dp_raise_rc(ctx, rc, "using the key (or give pin-value / pin-source in the URI)");
            return NULL;
        }
    } else if (u->pin && devid_key_takes_pin_as_auth(k)) {
        rc = devid_key_set_auth(k, u->pin, u->pin_len);
    }
    if (rc != DEVID_OK) {
        devid_key_free(k);
        dp_raise_rc(ctx, rc, "using the PIN");
        return NULL;
    }
    return dp_key_from_tpm(ctx, k);
}

static bool want_keys(const loader *l)
{
    return l->uri.type != DP_URI_CERT && l->expect != OSSL_STORE_INFO_CERT &&
           l->expect != OSSL_STORE_INFO_CRL && l->expect != OSSL_STORE_INFO_PARAMS;
}

static bool want_certs(const loader *l)
{
    return (l->uri.type == DP_URI_ANY || l->uri.type == DP_URI_CERT) &&
           (l->expect == 0 || l->expect == OSSL_STORE_INFO_CERT);
}

static bool add_cert_and_chain(loader *l, X509 *cert, STACK_OF(X509) *chain)
{
    if (!X509_up_ref(cert) || !add(l, NULL, cert))
        return false;
    for (int i = 0; chain && i < sk_X509_num(chain); i++) {
        X509 *c = sk_X509_value(chain, i);
        if (!X509_up_ref(c) || !add(l, NULL, c))
            return false;
    }
    return true;
}

/* Map entry i as far as this search needs it: a search for keys only (type=private, as
 * devid-enroll opens its keys) reads no certificate of an identity whose key is there, which
 * spares the NV reads of every identity's certificate on each key lookup by id. Otherwise, and
 * for an identity without its key, all of it (devid_identity_load, DEVID_ERR_NOT_FOUND when
 * it has neither). */
static devid_rc load_identity(const loader *l, devid_map_id i, devid_identity **out)
{
    if (want_certs(l))
        return devid_identity_load(i, out);
    devid_identity *ident = NULL;
    devid_rc rc = devid_identity_probe(i, &ident);
    if (rc == DEVID_OK)
        rc = devid_identity_load_key(ident);
    if (rc == DEVID_OK && ident->key) {
        *out = ident;
        return DEVID_OK;
    }
    devid_identity_free(ident);
    return rc == DEVID_OK ? devid_identity_load(i, out) : rc;
}

static bool collect_identities(loader *l, bool *handle_seen)
{
    const devid_config *cfg = devid_core_config();
    const dp_uri *u = &l->uri;
    for (int i = 0; i < DEVID_MAP_COUNT; i++) {
        const devid_map_entry *e = &cfg->map[i];
        if (u->object && strcasecmp(u->object, e->label) != 0)
            continue;
        if (u->handle && e->key_handle != u->handle)
            continue;
        devid_identity *ident = NULL;
        devid_rc rc = load_identity(l, (devid_map_id)i, &ident);
        if (rc == DEVID_ERR_NOT_FOUND)
            continue;
        if (rc != DEVID_OK) {
            dp_raise_rc(l->ctx, rc, e->label);
            return false;
        }
        if (u->handle)
            *handle_seen = true;
        EVP_PKEY *pub = ident->key ? devid_key_get_public(ident->key)
                                   : (ident->cert ? X509_get0_pubkey(ident->cert) : NULL);
        bool ok = true;
        if (id_matches(u, pub)) {
            if (ident->key && want_keys(l)) {
                dp_key *k = wrap_key(l->ctx, u, l->expect, ident->key);
                ident->key = NULL;
                ok = k && add(l, k, NULL);
            }
            if (ok && ident->cert && want_certs(l))
                ok = add_cert_and_chain(l, ident->cert, ident->chain);
        }
        devid_identity_free(ident);
        if (!ok)
            return false;
    }
    return true;
}

static bool collect_store(loader *l)
{
    const dp_uri *u = &l->uri;
    devid_store_entry *entries = NULL;
    size_t count = 0;
    devid_rc rc = devid_store_list(&entries, &count);
    if (rc != DEVID_OK) {
        dp_raise_rc(l->ctx, rc, "listing the store");
        return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < count; i++) {
        const devid_store_entry *e = &entries[i];
        if (u->object && strcmp(u->object, e->attrs.label) != 0)
            continue;
        if (u->has_id &&
            (e->attrs.id_len != u->id_len || memcmp(e->attrs.id, u->id, u->id_len) != 0))
            continue;
        if (e->has_key && !e->attrs.secret && want_keys(l)) { /* HMAC keys: PKCS#11 only */
            devid_key *k = NULL;
            rc = devid_store_open_key(e->uid, &k);
            if (rc != DEVID_OK) {
                dp_raise_rc(l->ctx, rc, e->attrs.label);
                ok = false;
                break;
            }
            dp_key *dk = wrap_key(l->ctx, u, l->expect, k);
            if (dk)
                snprintf(dk->uid, sizeof(dk->uid), "%s", e->uid);
            ok = dk && add(l, dk, NULL);
        }
        if (ok && e->has_cert && want_certs(l)) {
            X509 *cert = NULL;
            rc = devid_store_read_cert(e->uid, &cert);
            if (rc != DEVID_OK) {
                dp_raise_rc(l->ctx, rc, e->attrs.label);
                ok = false;
                break;
            }
            ok = add(l, NULL, cert);
        }
    }
    free(entries);
    return ok;
}

static bool collect(loader *l)
{
    l->collected = true;
    if (!dp_core_ready(l->ctx))
        return false;
    bool handle_seen = false;
    if (!collect_identities(l, &handle_seen))
        return false;
    if (!l->uri.handle && !collect_store(l))
        return false;
    if (l->uri.handle && !handle_seen && want_keys(l)) {
        devid_key *k = NULL;
        devid_rc rc = devid_key_open_persistent(l->uri.handle, &k);
        if (rc != DEVID_OK) {
            dp_raise_rc(l->ctx, rc, "opening the persistent key");
            return false;
        }
        if (!id_matches(&l->uri, devid_key_get_public(k))) {
            devid_key_free(k);
        } else {
            dp_key *dk = wrap_key(l->ctx, &l->uri, l->expect, k);
            if (!dk || !add(l, dk, NULL))
                return false;
        }
    }
    if (l->n == 0) {
        dp_raise(l->ctx, DP_R_NOT_FOUND, "no %s matches%s%s%s",
                 l->uri.type == DP_URI_CERT ? "certificate" : "object",
                 l->uri.object ? " object=" : "", l->uri.object ? l->uri.object : "",
                 l->uri.handle ? " (handle)" : "");
        return false;
    }
    return true;
}

static void *st_open(void *provctx, const char *uri)
{
    dp_ctx *ctx = provctx;
    loader *l = calloc(1, sizeof(*l));
    if (!l) {
        dp_raise(ctx, DP_R_MEMORY, "store loader");
        return NULL;
    }
    l->ctx = ctx;
    char err[256];
    if (!dp_uri_parse(uri, &l->uri, err, sizeof(err))) {
        dp_raise(ctx, DP_R_BAD_URI, "%s", err);
        free(l);
        return NULL;
    }
    return l;
}

static const OSSL_PARAM *st_settable_ctx_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_STORE_PARAM_EXPECT, NULL),
        OSSL_PARAM_END,
    };
    return params;
}

static int st_set_ctx_params(void *vl, const OSSL_PARAM params[])
{
    loader *l = vl;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_STORE_PARAM_EXPECT);
    if (p && !OSSL_PARAM_get_int(p, &l->expect))
        return 0;
    return 1;
}

static int emit_cert(X509 *cert, OSSL_CALLBACK *cb, void *cbarg)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    if (len <= 0)
        return 0;
    int objtype = OSSL_OBJECT_CERT;
    OSSL_PARAM params[] = {
        OSSL_PARAM_int(OSSL_OBJECT_PARAM_TYPE, &objtype),
        OSSL_PARAM_utf8_string(OSSL_OBJECT_PARAM_DATA_STRUCTURE, (char *)"Certificate", 11),
        OSSL_PARAM_octet_string(OSSL_OBJECT_PARAM_DATA, der, (size_t)len),
        OSSL_PARAM_END,
    };
    int ok = cb(params, cbarg);
    OPENSSL_free(der);
    return ok;
}

static int st_load(void *vl, OSSL_CALLBACK *object_cb, void *object_cbarg,
                   OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    (void)pw_cb;
    (void)pw_cbarg;
    loader *l = vl;
    if (!l->collected && !collect(l))
        return 0;
    if (l->next >= l->n)
        return 0;
    item *it = &l->items[l->next++];
    return it->key ? dp_key_object_cb(it->key, object_cb, object_cbarg)
                   : emit_cert(it->cert, object_cb, object_cbarg);
}

static int st_eof(void *vl)
{
    loader *l = vl;
    return l->collected && l->next >= l->n;
}

static int st_close(void *vl)
{
    loader *l = vl;
    if (!l)
        return 1;
    for (size_t i = 0; i < l->n; i++) {
        dp_key_free(l->items[i].key);
        X509_free(l->items[i].cert);
    }
    free(l->items);
    dp_uri_clear(&l->uri);
    free(l);
    return 1;
}

/* For the decoders: the private key a URI designates (the first one). */
dp_key *dp_open_uri_key(dp_ctx *ctx, const char *uri)
{
    loader *l = st_open(ctx, uri);
    if (!l)
        return NULL;
    l->expect = OSSL_STORE_INFO_PKEY;
    dp_key *key = NULL;
    if (collect(l) && l->n > 0)
        key = dp_key_ref(l->items[0].key);
    st_close(l);
    return key;
}

const OSSL_DISPATCH dp_store_functions[] = {
    { OSSL_FUNC_STORE_OPEN, (void (*)(void))st_open },
    { OSSL_FUNC_STORE_SETTABLE_CTX_PARAMS, (void (*)(void))st_settable_ctx_params },
    { OSSL_FUNC_STORE_SET_CTX_PARAMS, (void (*)(void))st_set_ctx_params },
    { OSSL_FUNC_STORE_LOAD, (void (*)(void))st_load },
    { OSSL_FUNC_STORE_EOF, (void (*)(void))st_eof },
    { OSSL_FUNC_STORE_CLOSE, (void (*)(void))st_close },
    { 0, NULL },
};
