/* SPDX-License-Identifier: Apache-2.0 */
#include "identity.h"
#include "cert.h"
#include "core.h"
#include "log.h"
#include "nv.h"
#include "store.h"
#include "tpm.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static devid_rc load_nv_cert(devid_identity *ident)
{
    const devid_map_entry *e = ident->entry;
    const uint32_t indices[2] = { e->cert_nv, e->cert_nv_alt };
    devid_rc rc = DEVID_ERR_NOT_FOUND;
    for (int i = 0; i < 2 && rc == DEVID_ERR_NOT_FOUND; i++) {
        if (!indices[i])
            continue;
        unsigned char *der = NULL;
        size_t len = 0;
        rc = devid__nv_read(indices[i], &der, &len);
        if (rc == DEVID_OK) {
            rc = devid__cert_from_der(der, len, &ident->cert);
            free(der);
            if (rc == DEVID_OK)
                ident->cert_nv = indices[i];
            else
                rc = devid_fail(rc, "NV 0x%08x: %s", indices[i], devid_last_error());
        }
    }
    return rc;
}

static devid_rc load_cert(devid_identity *ident)
{
    const devid_map_entry *e = ident->entry;
    devid_rc rc = DEVID_OK;
    if (e->cert_source == DEVID_CERT_NV)
        rc = load_nv_cert(ident);
    else if (e->cert_source == DEVID_CERT_FILE) {
        STACK_OF(X509) *rest = NULL;
        rc = devid_cert_read_pem(e->cert_file, &ident->cert, &rest);
        if (rc == DEVID_OK) {
            sk_X509_pop_free(ident->chain, X509_free);
            ident->chain = rest;
        }
    }
    if (rc == DEVID_ERR_NO_TPM)
        return rc;
    if (rc != DEVID_OK && rc != DEVID_ERR_NOT_FOUND)
        snprintf(ident->cert_error, sizeof(ident->cert_error), "%s", devid_last_error());
    if (rc == DEVID_OK && e->chain_file) {
        STACK_OF(X509) *extra = NULL;
        if (devid_cert_read_pem(e->chain_file, NULL, &extra) == DEVID_OK) {
            X509 *c;
            while ((c = sk_X509_shift(extra)))
                if (!sk_X509_push(ident->chain, c))
                    X509_free(c);
            sk_X509_free(extra);
        } else {
            snprintf(ident->cert_error, sizeof(ident->cert_error), "chain: %s", devid_last_error());
        }
    }
    return DEVID_OK;
}

/* The identity's rotation in progress, if its own key is missing or not its certificate's
 * (see identity.h): the pending store pair replaces both. Anything unusable leaves the
 * identity as it was. */
static void use_rotation_in_progress(devid_identity *ident)
{
    const devid_map_entry *e = ident->entry;
    if (e->cert_source != DEVID_CERT_FILE || !e->key_handle || !ident->cert)
        return; /* (a first enrollment is no rotation) */
    if (ident->key &&
        EVP_PKEY_eq(X509_get0_pubkey(ident->cert), devid_key_get_public(ident->key)) == 1)
        return;
    char label[DEVID_LABEL_MAX + 1];
    snprintf(label, sizeof(label), "%s%s", e->label, DEVID_ROTATION_SUFFIX);
    devid_store_entry *list = NULL;
    size_t n = 0;
    if (devid_store_list(&list, &n) != DEVID_OK)
        n = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].attrs.label, label) != 0 || !list[i].has_key || !list[i].has_cert)
            continue;
        devid_key *key = NULL;
        X509 *cert = NULL;
        if (devid_store_read_cert(list[i].uid, &cert) == DEVID_OK &&
            devid_store_open_key(list[i].uid, &key) == DEVID_OK &&
            EVP_PKEY_eq(X509_get0_pubkey(cert), devid_key_get_public(key)) == 1) {
            devid_info("%s: the handle 0x%08x is being re-keyed: using the new key and "
                       "certificate (%s)",
                       e->label, e->key_handle, label);
            devid_key_free(ident->key);
            X509_free(ident->cert);
            ident->key = key;
            ident->cert = cert;
            ident->cert_error[0] = '\0';
            ident->rotating = true;
            break;
        }
        devid_key_free(key);
        X509_free(cert);
    }
    free(list);
    devid_clear_error();
    ERR_clear_error();
}

/* Whether the store holds a complete pending pair for the identity (a directory read, no TPM
 * command): only then can a probe find the identity mid-rotation. */
static bool rotation_pending(const devid_identity *ident)
{
    char label[DEVID_LABEL_MAX + 1];
    snprintf(label, sizeof(label), "%s%s", ident->entry->label, DEVID_ROTATION_SUFFIX);
    devid_store_entry *list = NULL;
    size_t n = 0;
    bool found = false;
    if (devid_store_list(&list, &n) != DEVID_OK)
        n = 0;
    for (size_t i = 0; i < n && !found; i++)
        found = strcmp(list[i].attrs.label, label) == 0 && list[i].has_key && list[i].has_cert;
    free(list);
    devid_clear_error();
    return found;
}

devid_rc devid_identity_probe(devid_map_id id, devid_identity **out)
{
    const devid_config *cfg = devid_core_config();
    if (!cfg)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    if ((unsigned)id >= DEVID_MAP_COUNT)
        return devid_fail(DEVID_ERR_ARG, "no map entry %d", (int)id);
    devid_identity *ident = calloc(1, sizeof(*ident));
    if (!ident || !(ident->chain = sk_X509_new_null())) {
        free(ident);
        return devid_fail(DEVID_ERR_MEMORY, "identity allocation");
    }
    ident->id = id;
    ident->entry = &cfg->map[id];
    devid_rc rc = DEVID_OK;
    if (ident->entry->key_handle) {
        ESYS_CONTEXT *ctx;
        rc = devid_tpm_lock(&ctx);
        if (rc == DEVID_OK) {
            rc = devid_tpm_handle_present(ctx, ident->entry->key_handle, &ident->key_present);
            devid_tpm_unlock();
        }
    }
    /* An owner identity with a pending pair in the store may be mid-rotation (its handle
     * empty, or holding the new key while the file has the old certificate): then the pending
     * pair is the identity. Decided here, from both halves, so that lazy consumers never pair
     * a key with the other key's certificate. */
    if (rc == DEVID_OK && ident->entry->key_handle &&
        ident->entry->cert_source == DEVID_CERT_FILE && rotation_pending(ident)) {
        rc = devid_identity_load_key(ident);
        if (rc == DEVID_OK)
            rc = devid_identity_load_cert(ident);
        if (rc == DEVID_OK)
            use_rotation_in_progress(ident);
        if (ident->rotating)
            ident->key_present = ident->key_loaded = true;
    }
    if (rc != DEVID_OK) {
        devid_identity_free(ident);
        return rc;
    }
    *out = ident;
    return DEVID_OK;
}

devid_rc devid_identity_load_key(devid_identity *ident)
{
    if (ident->key_loaded || !ident->key_present)
        return DEVID_OK;
    devid_rc rc = devid_key_open_persistent(ident->entry->key_handle, &ident->key);
    if (rc == DEVID_ERR_NOT_FOUND) { /* removed since the probe */
        ident->key_present = false;
        rc = DEVID_OK;
    }
    ident->key_loaded = rc == DEVID_OK;
    return rc;
}

devid_rc devid_identity_load_cert(devid_identity *ident)
{
    if (ident->cert_loaded)
        return DEVID_OK;
    devid_rc rc = load_cert(ident);
    ident->cert_loaded = rc == DEVID_OK;
    return rc;
}

devid_rc devid_identity_load(devid_map_id id, devid_identity **out)
{
    devid_identity *ident = NULL;
    devid_rc rc = devid_identity_probe(id, &ident);
    if (rc != DEVID_OK)
        return rc;
    rc = devid_identity_load_key(ident);
    if (rc == DEVID_OK)
        rc = devid_identity_load_cert(ident);
    if (rc == DEVID_OK && !ident->rotating)
        use_rotation_in_progress(ident);
    if (rc == DEVID_OK && !ident->key && !ident->cert)
        rc = devid_fail(DEVID_ERR_NOT_FOUND, "%s: no key at 0x%08x and no certificate",
                        ident->entry->label, ident->entry->key_handle);
    if (rc != DEVID_OK) {
        devid_identity_free(ident);
        return rc;
    }
    *out = ident;
    return DEVID_OK;
}

void devid_identity_free(devid_identity *ident)
{
    if (!ident)
        return;
    devid_key_free(ident->key);
    X509_free(ident->cert);
    sk_X509_pop_free(ident->chain, X509_free);
    free(ident);
}

const char *devid_chain_status_name(devid_chain_status st)
{
    static const char *const names[] = {
        [DEVID_CHAIN_VALID] = "valid",
        [DEVID_CHAIN_NO_CERT] = "no-certificate",
        [DEVID_CHAIN_KEY_MISMATCH] = "key-mismatch",
        [DEVID_CHAIN_NO_ANCHORS] = "no-trust-anchors",
        [DEVID_CHAIN_EXPIRED] = "expired",
        [DEVID_CHAIN_NOT_YET_VALID] = "not-yet-valid",
        [DEVID_CHAIN_UNTRUSTED] = "untrusted",
    };
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "unknown";
}

static devid_chain_status verify_chain(X509 *cert, STACK_OF(X509) *chain, const char *anchors,
                                       char *detail, size_t n)
{
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *vctx = X509_STORE_CTX_new();
    devid_chain_status st = DEVID_CHAIN_UNTRUSTED;
    if (!store || !vctx || X509_STORE_load_file(store, anchors) != 1) {
        snprintf(detail, n, "cannot load trust anchors from %s", anchors);
    } else if (X509_STORE_CTX_init(vctx, store, cert, chain) != 1) {
        snprintf(detail, n, "cannot set up verification");
    } else if (X509_verify_cert(vctx) == 1) {
        st = DEVID_CHAIN_VALID;
        snprintf(detail, n, "chains to trust anchor");
    } else {
        int err = X509_STORE_CTX_get_error(vctx);
        if (err == X509_V_ERR_CERT_HAS_EXPIRED)
            st = DEVID_CHAIN_EXPIRED;
        else if (err == X509_V_ERR_CERT_NOT_YET_VALID)
            st = DEVID_CHAIN_NOT_YET_VALID;
        snprintf(detail, n, "%s", X509_verify_cert_error_string(err));
    }
    ERR_clear_error();
    X509_STORE_CTX_free(vctx);
    X509_STORE_free(store);
    return st;
}

devid_chain_status devid_identity_verify(const devid_identity *ident, char *detail,
                                         size_t detail_len)
{
    if (!ident->cert) {
        snprintf(detail, detail_len, "%s",
                 ident->cert_error[0] ? ident->cert_error : "no certificate");
        return DEVID_CHAIN_NO_CERT;
    }
    if (ident->key &&
        EVP_PKEY_eq(X509_get0_pubkey(ident->cert), devid_key_get_public(ident->key)) != 1) {
        ERR_clear_error();
        snprintf(detail, detail_len, "certificate public key differs from the TPM key");
        return DEVID_CHAIN_KEY_MISMATCH;
    }
    const devid_config *cfg = devid_core_config();
    if (!cfg || !cfg->trust_anchors) {
        snprintf(detail, detail_len, "no trust_anchors configured");
        return DEVID_CHAIN_NO_ANCHORS;
    }
    return verify_chain(ident->cert, ident->chain, cfg->trust_anchors, detail, detail_len);
}
