/* SPDX-License-Identifier: Apache-2.0 */
/* After a crash: finishes or discards the rotation it interrupted, so that every identity
 * ends up with exactly one complete key and certificate (see service.h). */
#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Makes the chain file at path lead with cert: unchanged if it already does, else cert
 * followed by the CA certificates the file had (a rotation keeps its CA). */
static devid_rc ensure_chain_leaf(const char *path, X509 *cert)
{
    X509 *leaf = NULL;
    STACK_OF(X509) *cas = NULL;
    devid_rc rc = devid_cert_read_pem(path, &leaf, &cas);
    if (rc == DEVID_OK && X509_cmp(leaf, cert) == 0) {
        X509_free(leaf);
        sk_X509_pop_free(cas, X509_free);
        return DEVID_OK;
    }
    devid_clear_error();
    rc = enroll_write_chain(path, cert, cas);
    X509_free(leaf);
    sk_X509_pop_free(cas, X509_free);
    return rc;
}

/* After a crash between relabelling and deleting, two groups carry one name: keep the one the
 * chain file names (the newer), remove the other. */
static devid_rc drop_duplicates(const devid_store_entry *e, size_t n, bool *changed)
{
    devid_rc rc = DEVID_OK;
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        for (size_t j = i + 1; rc == DEVID_OK && j < n; j++) {
            if (strcmp(e[i].attrs.label, e[j].attrs.label) != 0 ||
                !service_name_valid(e[i].attrs.label))
                continue;
            char path[4096];
            service_chain_path(e[i].attrs.label, path, sizeof(path));
            X509 *leaf = NULL, *ci = NULL;
            if (devid_cert_read_pem(path, &leaf, NULL) != DEVID_OK)
                continue;
            bool keep_i = devid_store_read_cert(e[i].uid, &ci) == DEVID_OK &&
                          X509_cmp(ci, leaf) == 0;
            fprintf(stderr, "devid-enroll: completing the interrupted rotation of %s\n",
                    e[i].attrs.label);
            rc = devid_store_delete(keep_i ? e[j].uid : e[i].uid,
                                    DEVID_STORE_KEY | DEVID_STORE_CERT);
            *changed = true;
            X509_free(ci);
            X509_free(leaf);
        }
    }
    return rc;
}

devid_rc service_recover_pending(devid_store_entry **groups, size_t *count)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    bool changed = false; /* then the store is listed again */
    devid_rc rc = devid_store_list(&e, &n);
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        if (!ends_with(e[i].attrs.label, PENDING))
            continue;
        changed = true;
        char target[DEVID_LABEL_MAX + 1], path[4096];
        snprintf(target, sizeof(target), "%.*s", (int)(strlen(e[i].attrs.label) - strlen(PENDING)),
                 e[i].attrs.label);
        if (!e[i].has_cert || !e[i].has_key) {
            fprintf(stderr, "devid-enroll: discarding the incomplete rotation of %s\n", target);
            rc = devid_store_delete(e[i].uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
            continue;
        }
        fprintf(stderr, "devid-enroll: completing the interrupted rotation of %s\n", target);
        X509 *cert = NULL;
        rc = devid_store_read_cert(e[i].uid, &cert);
        if (rc == DEVID_OK && strcmp(target, "LDevID") == 0) {
            const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
            devid_key *cur = NULL;
            devid_rc have = devid_key_open_persistent(m->key_handle, &cur);
            bool same = have == DEVID_OK &&
                        EVP_PKEY_eq(devid_key_get_public(cur), X509_get0_pubkey(cert)) == 1;
            devid_key_free(cur);
            devid_clear_error();
            if (have == DEVID_OK && !same)
                rc = devid_provision_remove_key(m->key_handle);
            if (rc == DEVID_OK && !same)
                rc = devid_provision_persist_store_key(e[i].uid, m->key_handle);
            if (rc == DEVID_OK)
                rc = ensure_chain_leaf(m->cert_file, cert);
            if (rc == DEVID_OK)
                rc = devid_store_delete(e[i].uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        } else if (rc == DEVID_OK) {
            devid_store_entry old;
            service_chain_path(target, path, sizeof(path));
            rc = ensure_chain_leaf(path, cert);
            devid_store_attrs attrs = e[i].attrs;
            snprintf(attrs.label, sizeof(attrs.label), "%s", target);
            bool had_old = service_find_group(target, &old) == DEVID_OK;
            if (rc == DEVID_OK)
                rc = devid_store_set_attrs(e[i].uid, &attrs);
            if (rc == DEVID_OK && had_old)
                rc = devid_store_delete(old.uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
        }
        X509_free(cert);
    }
    if (rc != DEVID_OK) {
        free(e);
        return rc;
    }
    if (changed) {
        free(e);
        e = NULL;
        rc = devid_store_list(&e, &n);
    }
    changed = false;
    if (rc == DEVID_OK)
        rc = drop_duplicates(e, n, &changed);
    if (rc == DEVID_OK && changed) {
        free(e);
        e = NULL;
        rc = devid_store_list(&e, &n);
    }
    devid_clear_error();
    if (rc != DEVID_OK) {
        free(e);
        e = NULL;
        n = 0;
    }
    *groups = e;
    *count = n;
    return rc;
}
