/* SPDX-License-Identifier: Apache-2.0 */
/* The identities devid-enroll renews (the LDevID and the service identities it enrolled),
 * their current key and certificate, and renewing one: re-enroll with the same key, or re-key
 * through a pending store group that replaces the old one only once complete, with the crash
 * points the crash tests kill it at. */
#include "service.h"
#include "tpmkey.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fault injection for the crash tests: DEVID_ENROLL_CRASH_AT=<point> makes the process die by
 * SIGKILL at that point of a rotation, as a power cut would. */
static void crash_point(const char *point)
{
    const char *at = getenv("DEVID_ENROLL_CRASH_AT");
    if (at && strcmp(at, point) == 0) {
        fflush(NULL);
        raise(SIGKILL);
    }
}

static devid_rc open_group_key(const devid_store_entry *g, EVP_PKEY **pkey)
{
    return enroll_store_key(g->attrs.label, g->attrs.id, g->attrs.id_len, pkey);
}

/* The LDevID and every complete store identity. */
devid_rc renewable_list(renewable **out, size_t *count)
{
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    if (rc == DEVID_OK)
        rc = renewable_list_in(e, n, out, count);
    free(e);
    return rc;
}

devid_rc renewable_list_in(const devid_store_entry *e, size_t n, renewable **out, size_t *count)
{
    renewable *r = calloc(n + 1, sizeof(*r));
    if (!r)
        return devid_fail(DEVID_ERR_MEMORY, "renewal list");
    size_t k = 0;
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    if (m->key_handle && m->cert_source == DEVID_CERT_FILE && access(m->cert_file, F_OK) == 0) {
        snprintf(r[k].name, sizeof(r[k].name), "LDevID");
        r[k++].ldevid = true;
    }
    for (size_t i = 0; i < n; i++) {
        /* only identities devid-enroll made: a name it accepts and a chain file it wrote (keys
         * made through PKCS#11, e.g. by the Identity Service, are not its to renew) */
        char path[4096];
        service_chain_path(e[i].attrs.label, path, sizeof(path));
        if (!e[i].has_key || !e[i].has_cert || !service_name_valid(e[i].attrs.label) ||
            access(path, F_OK) != 0)
            continue;
        snprintf(r[k].name, sizeof(r[k].name), "%s", e[i].attrs.label);
        r[k++].group = e[i];
    }
    *out = r;
    *count = k;
    return DEVID_OK;
}

devid_rc renewable_current(const renewable *r, renewable_identity *cur)
{
    memset(cur, 0, sizeof(*cur));
    if (r->ldevid) {
        devid_identity *id = NULL;
        devid_rc rc = devid_identity_load(DEVID_MAP_LDEVID, &id);
        if (rc == DEVID_OK && (!id->key || !id->cert))
            rc = devid_fail(DEVID_ERR_NOT_FOUND, "LDevID key or certificate missing");
        if (rc == DEVID_OK)
            rc = enroll_key_by_handle(id->entry->key_handle, &cur->key);
        if (rc == DEVID_OK) {
            cur->cert = id->cert;
            cur->chain = id->chain;
            id->cert = NULL;
            id->chain = NULL;
        }
        devid_identity_free(id);
        return rc;
    }
    cur->chain = sk_X509_new_null();
    devid_rc rc = devid_store_read_cert(r->group.uid, &cur->cert);
    if (rc == DEVID_OK)
        rc = open_group_key(&r->group, &cur->key);
    return rc;
}

void renewable_identity_free(renewable_identity *cur)
{
    EVP_PKEY_free(cur->key);
    X509_free(cur->cert);
    sk_X509_pop_free(cur->chain, X509_free);
    memset(cur, 0, sizeof(*cur));
}

/* What one renewal holds: the current identity (it authenticates the request), the new
 * certificate and, when re-keying, the pending group with the new key. */
typedef struct {
    renewable_identity *cur; /* the caller's */
    EVP_PKEY *new_key;
    X509 *leaf;
    STACK_OF(X509) *chain;
    char uid[DEVID_UID_LEN + 1]; /* the pending group ("" until created) */
} renewal;

/* LDevID rotation: the complete pending pair replaces the key at the LDevID's persistent
 * handle, then the chain file; the pending group goes last. */
static devid_rc rotate_ldevid(enroll_ctx *ctx, renewal *w)
{
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    EVP_PKEY_free(w->cur->key); /* the provider's handle on the old key */
    w->cur->key = NULL;
    ctx->est.tls_key = NULL;
    devid_rc rc = devid_provision_remove_key(m->key_handle);
    if (rc == DEVID_OK)
        crash_point("old-key-removed");
    if (rc == DEVID_OK)
        rc = devid_provision_persist_store_key(w->uid, m->key_handle);
    if (rc == DEVID_OK)
        crash_point("new-key-persisted");
    if (rc == DEVID_OK)
        rc = enroll_write_chain(m->cert_file, w->leaf, w->chain);
    if (rc == DEVID_OK)
        crash_point("chain-written");
    if (rc == DEVID_OK)
        rc = devid_store_delete(w->uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
    return rc;
}

/* Service identity rotation: the chain file first, then the pending group takes the
 * identity's name, then the old group goes. */
static devid_rc rotate_service(const renewable *r, renewal *w)
{
    char path[4096];
    service_chain_path(r->name, path, sizeof(path));
    /* durable with the relabelling (one directory fsync for both): whichever of the two a
     * power cut keeps, the recovery ends with one whole identity, the old or the new (a
     * pending pair: completed; two groups of one name: the one the chain file names) */
    devid_rc rc = enroll_write_chain_batched(path, w->leaf, w->chain);
    if (rc == DEVID_OK)
        crash_point("chain-written");
    devid_store_attrs attrs;
    if (rc == DEVID_OK)
        rc = devid_store_get_attrs(w->uid, &attrs);
    snprintf(attrs.label, sizeof(attrs.label), "%s", r->name);
    if (rc == DEVID_OK) /* two groups named NAME for a moment: never none */
        rc = devid_store_set_attrs(w->uid, &attrs);
    if (rc == DEVID_OK)
        crash_point("relabelled");
    if (rc == DEVID_OK)
        rc = devid_store_delete(r->group.uid, DEVID_STORE_KEY | DEVID_STORE_CERT);
    return rc;
}

/* Re-key: a new key in a pending group, certified with the current identity, then rotated
 * in. Until the pending pair is complete, a failure removes it and leaves the old pair. */
static devid_rc renew_rekey(enroll_ctx *ctx, const renewable *r, renewal *w)
{
    char pending[DEVID_LABEL_MAX + 16];
    snprintf(pending, sizeof(pending), "%s%s", r->name, PENDING);
    /* what the new key and, for the LDevID, its TPM2_EvictControl need of the hierarchies,
     * known before the CA issues a certificate the device could not take */
    devid_rc rc = devid_hierarchy_auth_ready(DEVID_NEEDS_STORE_KEY |
                                             (r->ldevid ? DEVID_NEEDS_PERSIST : 0));
    if (rc != DEVID_OK)
        return rc;
    enroll_fetch_wishes(ctx);
    /* the LDevID's new key is the same kind as the one `ldevid` makes: no auth value */
    rc = service_new_store_key(ctx, pending, EVP_PKEY_is_a(w->cur->key, "RSA"), r->ldevid, w->uid,
                               &w->new_key);
    if (rc == DEVID_OK)
        crash_point("pending-key");
    if (rc == DEVID_OK)
        rc = enroll_get_cert(ctx, EST_SIMPLEREENROLL, w->new_key,
                             &(enroll_key_ref){ .uid = w->uid }, NULL, w->cur->cert, &w->leaf,
                             &w->chain);
    if (rc != DEVID_OK) {
        if (w->uid[0])
            devid_store_delete(w->uid, DEVID_STORE_KEY | DEVID_STORE_CERT); /* old pair untouched */
        return rc;
    }
    rc = devid_store_put_cert(w->uid, w->leaf, NULL, NULL); /* the pending pair is complete */
    if (rc == DEVID_OK)
        crash_point("pending-cert");
    if (rc != DEVID_OK)
        return rc;
    return r->ldevid ? rotate_ldevid(ctx, w) : rotate_service(r, w);
}

/* Re-enroll: a new certificate for the current key. */
static devid_rc renew_reenroll(enroll_ctx *ctx, const renewable *r, renewal *w)
{
    crash_point("pending-key"); /* at the same step as in a re-key, before the request */
    enroll_key_ref cur = { .handle = r->ldevid
                                         ? devid_core_config()->map[DEVID_MAP_LDEVID].key_handle
                                         : 0,
                           .uid = r->group.uid };
    devid_rc rc = enroll_get_cert(ctx, EST_SIMPLEREENROLL, w->cur->key, &cur, NULL, w->cur->cert,
                                  &w->leaf, &w->chain);
    if (rc != DEVID_OK)
        return rc;
    crash_point("reenrolled");
    if (r->ldevid)
        return enroll_write_chain(devid_core_config()->map[DEVID_MAP_LDEVID].cert_file, w->leaf,
                                  w->chain);
    /* The same key: the old certificate and the new are both whole identities, in the store
     * and in the chain file, so the two files may become durable in either order and the
     * store's directory fsync makes both durable (the chain file is in the store's
     * directory). */
    char path[4096];
    service_chain_path(r->name, path, sizeof(path));
    rc = enroll_write_chain_batched(path, w->leaf, w->chain);
    if (rc == DEVID_OK)
        rc = devid_store_put_cert(r->group.uid, w->leaf, NULL, NULL);
    return rc;
}

/* One renewal: same key (re-enroll) or a new one (re-key), authenticated with the current
 * certificate and key. */
devid_rc renewable_renew(enroll_ctx *ctx, const renewable *r, renewable_identity *cur, bool rekey)
{
    renewal w = { .cur = cur };
    enroll_ctx_use_tls_identity(ctx, cur->key, cur->cert, cur->chain);
    devid_rc rc = rekey ? renew_rekey(ctx, r, &w) : renew_reenroll(ctx, r, &w);
    if (rc == DEVID_OK)
        csr_attest_forget(cur->cert); /* replaced: its record vouches for nothing any more */
    ctx->est.tls_key = NULL;          /* the caller frees the identity */
    ctx->est.tls_cert = NULL;
    ctx->est.tls_chain = NULL;
    X509_free(w.leaf);
    sk_X509_pop_free(w.chain, X509_free);
    EVP_PKEY_free(w.new_key);
    return rc;
}
