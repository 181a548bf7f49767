/* SPDX-License-Identifier: Apache-2.0 */
/* Keys in the TPM's object slots (key_internal.h): binding a devid_key to its TPM object
 * (a loadable key loaded under its parent, a persistent one resolved), the loaded keys in
 * least-recently-used order, one loaded object shared by every open devid_key of the same key,
 * and making room when the slots are full (our least recently used key, the salt key, or a
 * crashed run's orphans). A TPM without resource manager has only a few slots (swtpm: three),
 * so this bookkeeping decides whether the next command finds one. Everything here runs under
 * the TPM lock. Opening keys and reading their properties is key.c's. */
#include "key_internal.h"
#include "log.h"
#include "srk.h"
#include "tpm.h"
#include "tpm_users.h"

#include <string.h>

/* Loaded loadable keys, most recently used first. The TPM has few object slots (3 on swtpm),
 * so when a load fails for lack of memory the least recently used one is flushed.
 * Protected by the TPM lock. */
static devid_key *lru_head, *lru_tail;

static void lru_unlink_locked(devid_key *key)
{
    if (key->lru_prev)
        key->lru_prev->lru_next = key->lru_next;
    else if (lru_head == key)
        lru_head = key->lru_next;
    if (key->lru_next)
        key->lru_next->lru_prev = key->lru_prev;
    else if (lru_tail == key)
        lru_tail = key->lru_prev;
    key->lru_prev = key->lru_next = NULL;
}

static void lru_push_front_locked(devid_key *key)
{
    key->lru_next = lru_head;
    if (lru_head)
        lru_head->lru_prev = key;
    lru_head = key;
    if (!lru_tail)
        lru_tail = key;
}

static bool lru_member_locked(const devid_key *key)
{
    return key->lru_prev || lru_head == key;
}

/* Every open loadable key. Two devid_keys of one key (the provider's, opened for the TLS or CSR
 * signature, and the one a caller opens to have it certified) hold ONE loaded TPM object
 * between them: the one that needs it takes it over from the other, and a key freed while
 * loaded hands it to another of the same key instead of flushing it. Loading the same key twice
 * would fill a third of swtpm's three object slots (the PC Client minimum) for nothing, and
 * the next command needing a slot (the IAK's TPM2_Certify) would fail first.
 * Protected by the TPM lock. */
static devid_key *open_head;

void devid_key_opened_locked(devid_key *key)
{
    key->open_prev = NULL;
    key->open_next = open_head;
    if (open_head)
        open_head->open_prev = key;
    open_head = key;
}

static void open_unlink_locked(devid_key *key)
{
    if (key->open_prev)
        key->open_prev->open_next = key->open_next;
    else if (open_head == key)
        open_head = key->open_next;
    if (key->open_next)
        key->open_next->open_prev = key->open_prev;
    key->open_prev = key->open_next = NULL;
}

static bool same_key(const devid_key *a, const devid_key *b)
{
    return a->blob.parent == b->blob.parent && a->blob.priv.size == b->blob.priv.size &&
           a->blob.pub.size == b->blob.pub.size &&
           memcmp(a->blob.priv.buffer, b->blob.priv.buffer, a->blob.priv.size) == 0 &&
           memcmp(&a->blob.pub.publicArea, &b->blob.pub.publicArea,
                  sizeof(a->blob.pub.publicArea)) == 0;
}

/* Another open key of the same key, loaded on this connection (loaded) or not (!loaded). */
static devid_key *sibling_locked(const devid_key *key, bool loaded)
{
    uint64_t gen = devid_tpm_generation_locked();
    for (devid_key *k = open_head; k; k = k->open_next) {
        if (k == key || !same_key(k, key))
            continue;
        bool is_loaded = k->tr != ESYS_TR_NONE && k->generation == gen;
        if (is_loaded == loaded)
            return k;
    }
    return NULL;
}

void devid_keys_forget_loaded_locked(void)
{
    while (lru_head) {
        devid_key *k = lru_head;
        k->tr = ESYS_TR_NONE;
        lru_unlink_locked(k);
    }
}

void devid_keys_flush_loaded(ESYS_CONTEXT *ctx)
{
    for (devid_key *k = lru_head; k; k = k->lru_next)
        if (k->tr != ESYS_TR_NONE && k->generation == devid_tpm_generation_locked())
            DEVID_ESYS_RAW(Esys_FlushContext, ctx, k->tr);
    devid_keys_forget_loaded_locked();
}

/* Without a resource manager (swtpm, a bare /dev/tpm0), objects a crashed or careless process
 * left loaded stay in the TPM's few slots for good. When we have nothing of our own to give
 * back, flush the transient objects that are not ours, but only those of crashed runs: never
 * while another devid process is connected, as they may be its keys in use (tpm_users.h;
 * tests/soak/orphans.c). Behind a resource manager we only see our own connection's (and, through
 * tpm2-abrmd, objects loaded beside it straight into the TPM by crashed runs). */
static bool ours(ESYS_CONTEXT *ctx, TPM2_HANDLE h)
{
    for (devid_key *k = lru_head; k; k = k->lru_next) {
        TPM2_HANDLE kh = 0;
        if (k->tr != ESYS_TR_NONE && Esys_TR_GetTpmHandle(ctx, k->tr, &kh) == 0 && kh == h)
            return true;
    }
    return false;
}

static bool flush_orphans(ESYS_CONTEXT *ctx)
{
    TPMI_YES_NO more = 0;
    TPMS_CAPABILITY_DATA *cap = NULL;
    bool rm = devid_tpm_behind_rm_locked(); /* then all we list is ours or a crashed run's */
    if (!rm && !devid_tpm_users_alone_locked()) {
        static bool said; /* (once a process: the retries would repeat it) */
        if (!said)
            devid_warn("the TPM's object slots are full and another devid process is connected: "
                       "its objects are not flushed (without a resource manager processes cannot "
                       "share more objects than the TPM holds; use /dev/tpmrm0 or tpm2-abrmd)");
        said = true;
        return false;
    }
    if (DEVID_ESYS_RAW(Esys_GetCapability, ctx, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                       TPM2_CAP_HANDLES, 0x80000000u /* TPM2_TRANSIENT_FIRST */,
                       TPM2_MAX_CAP_HANDLES, &more, &cap) != 0)
        return false;
    /* a process that connected meanwhile registered before it loaded anything: if there is
     * none now, everything listed is a crashed run's */
    if (!rm && !devid_tpm_users_alone_locked()) {
        Esys_Free(cap);
        return false;
    }
    int flushed = 0;
    for (UINT32 i = 0; i < cap->data.handles.count; i++) {
        TPM2_HANDLE h = cap->data.handles.handle[i];
        if (devid_srk_owns_transient_locked(h) || devid_session_owns_transient(ctx, h) ||
            ours(ctx, h))
            continue;
        ESYS_TR tr;
        if (DEVID_ESYS_RAW(Esys_TR_FromTPMPublic, ctx, h, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                           &tr) == 0) {
            if (DEVID_ESYS_RAW(Esys_FlushContext, ctx, tr) == 0)
                flushed++;
        }
    }
    Esys_Free(cap);
    if (flushed)
        devid_warn("flushed %d transient TPM object(s) left behind by other processes", flushed);
    return flushed > 0;
}

bool devid_keys_evict_one_but(ESYS_CONTEXT *ctx, const devid_key *keep)
{
    devid_key *victim = lru_tail;
    while (victim == keep && victim)
        victim = victim->lru_prev;
    if (!victim) /* nothing of ours but `keep` (a key starting an HMAC sequence needs two) */
        return devid_session_release_salt(ctx) || flush_orphans(ctx);
    DEVID_ESYS_RAW(Esys_FlushContext, ctx, victim->tr);
    victim->tr = ESYS_TR_NONE;
    lru_unlink_locked(victim);
    return true;
}

#define PC_CLIENT_MIN_TRANSIENT_SLOTS 3

void devid_keys_make_room_locked(ESYS_CONTEXT *ctx)
{
    if (devid_tpm_behind_rm_locked()) /* it swaps objects out: never out of slots */
        return;
    unsigned held = (devid_srk_transient_loaded_locked() ? 1u : 0u) +
                    (devid_session_salt_loaded_locked() ? 1u : 0u);
    for (devid_key *k = lru_head; k; k = k->lru_next)
        held++;
    if (held < PC_CLIENT_MIN_TRANSIENT_SLOTS)
        return;
    /* never the most recently bound key: the operation asking may be about to use it (a
     * TPM2_Certify of it by a persistent key not yet resolved) */
    if (lru_tail && lru_tail != lru_head) {
        devid_key *victim = lru_tail;
        devid_debug("%u transient objects loaded: one flushed before a persistent object is used",
                    held);
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, victim->tr);
        victim->tr = ESYS_TR_NONE;
        lru_unlink_locked(victim);
    } else {
        devid_session_release_salt(ctx);
    }
}

bool devid_keys_evict_one(ESYS_CONTEXT *ctx)
{
    return devid_keys_evict_one_but(ctx, NULL);
}

devid_rc devid_tpm_load_blob(ESYS_CONTEXT *ctx, const devid_tss2_key *blob, const devid_key *keep,
                             ESYS_TR *out)
{
    ESYS_TR parent;
    devid_tpm_users_join_locked(); /* (connected before the store existed: from now on) */
    devid_rc rc = devid_srk_resolve(ctx, blob->parent, &parent);
    for (int tries = 0; rc == DEVID_OK; tries++) {
        TSS2_RC trc = DEVID_ESYS_RAW(Esys_Load, ctx, parent, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                     ESYS_TR_NONE, &blob->priv, &blob->pub, out);
        if (DEVID_TPM_OBJECT_MEMORY(trc) && tries < 8 && devid_keys_evict_one_but(ctx, keep))
            continue;
        rc = devid_tpm_result_locked(trc, "loading an object (TPM2_Load)");
        break;
    }
    if (blob->parent != TPM2_RH_OWNER && blob->parent != DEVID_SRK_PERSISTENT &&
        devid_tpm_alive(ctx))
        devid_tpm_release(ctx, parent);
    if (rc != DEVID_OK)
        *out = ESYS_TR_NONE;
    return rc;
}

devid_rc devid_key_bind(ESYS_CONTEXT *ctx, devid_key *key)
{
    if (key->loadable) {
        if (key->generation != devid_tpm_generation_locked() || key->tr == ESYS_TR_NONE) {
            if (lru_member_locked(key))
                lru_unlink_locked(key);
            devid_key *loaded = sibling_locked(key, true);
            if (loaded) { /* the same key is loaded: take its object over */
                key->tr = loaded->tr;
                loaded->tr = ESYS_TR_NONE;
                if (lru_member_locked(loaded))
                    lru_unlink_locked(loaded);
            } else {
                devid_rc rc = devid_tpm_load_blob(ctx, &key->blob, key, &key->tr);
                if (rc != DEVID_OK)
                    return rc;
            }
            key->generation = devid_tpm_generation_locked();
            lru_push_front_locked(key);
        } else if (lru_head != key) {
            lru_unlink_locked(key);
            lru_push_front_locked(key);
        }
    } else if (key->generation != devid_tpm_generation_locked() || key->tr == ESYS_TR_NONE ||
               key->tr_epoch != devid_tpm_tr_epoch_locked()) {
        if (key->tr != ESYS_TR_NONE && key->generation == devid_tpm_generation_locked())
            devid_tpm_release(ctx, key->tr);
        key->tr_epoch = devid_tpm_tr_epoch_locked();
        devid_rc rc = devid_tpm_resolve(ctx, key->handle, &key->tr);
        if (rc != DEVID_OK) {
            key->tr = ESYS_TR_NONE;
            return rc;
        }
        key->generation = devid_tpm_generation_locked();
    }
    TSS2_RC trc = Esys_TR_SetAuth(ctx, key->tr, &key->auth);
    return devid_tpm_result_locked(trc, "setting the key's auth value");
}

void devid_key_release_locked(ESYS_CONTEXT *ctx, devid_key *key)
{
    bool live = ctx && key->tr != ESYS_TR_NONE && key->generation == devid_tpm_generation_locked();
    devid_key *heir = live && key->loadable ? sibling_locked(key, false) : NULL;
    if (lru_member_locked(key))
        lru_unlink_locked(key);
    if (heir) { /* another object of the same key uses it next: no flush and reload */
        heir->tr = key->tr;
        heir->generation = key->generation;
        if (lru_member_locked(heir))
            lru_unlink_locked(heir);
        lru_push_front_locked(heir);
    } else if (live && key->loadable) {
        /* give its object slot back */
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, key->tr);
    } else if (live) {
        devid_tpm_release(ctx, key->tr);
    }
    if (key->loadable)
        open_unlink_locked(key);
}
