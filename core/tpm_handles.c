/* SPDX-License-Identifier: Apache-2.0 */
/* Which persistent handles and NV indices the TPM has, and their ESYS_TRs (tpm.h: "Persistent
 * handles and NV indices"). Both are cached per connection, under the TPM lock: the lists of
 * defined handles so that probing absent DevID map entries costs no command each, the
 * resolved ESYS_TRs reference-counted because ESAPI hands every resolver the same one. The
 * connection itself (tpm.c) only drops both when it goes (devid_tpm_handles_forget_locked). */
#include "key_internal.h"
#include "tpm.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <tss2/tss2_esys.h>

/* One resolved TPM handle and the users of its ESYS_TR (cache.refs below). */
struct resolved_tr {
    uint32_t handle;
    ESYS_TR tr;
    unsigned refs;
};

static struct {
    /* Persistent handles ([0]) and NV indices ([1]) that exist, each listed with one
     * GetCapability when first asked about, so that probing the DevID map for absent entries
     * costs no TPM command each, and finding keys costs no NV listing. */
    struct {
        uint64_t generation;
        struct timespec when;
        uint32_t *handles;
        size_t count;
    } present[2];
    /* ESAPI keeps one ESYS_TR per TPM handle and hands the same one to every resolver, so
     * resolved handles are reference-counted here and closed with their last user. */
    struct {
        uint64_t generation;
        uint64_t epoch; /* bumped when a persistent handle or NV index changes */
        struct resolved_tr *list;
        size_t count, cap;
    } refs;
} cache;

static void forget_refs_locked(void)
{
    free(cache.refs.list);
    cache.refs.list = NULL;
    cache.refs.count = cache.refs.cap = 0;
}

static void forget_present_locked(void)
{
    for (int i = 0; i < 2; i++) {
        free(cache.present[i].handles);
        cache.present[i].handles = NULL;
        cache.present[i].count = 0;
        cache.present[i].generation = 0;
    }
}

void devid_tpm_handles_changed_locked(uint32_t handle)
{
    forget_present_locked();
    for (size_t i = 0; i < cache.refs.count; i++) {
        if (cache.refs.list[i].handle == handle) { /* its ESYS object is gone or stale */
            cache.refs.list[i] = cache.refs.list[--cache.refs.count];
            break;
        }
    }
    cache.refs.epoch++;
}

uint64_t devid_tpm_tr_epoch_locked(void)
{
    return cache.refs.epoch;
}

void devid_tpm_release(ESYS_CONTEXT *ctx, ESYS_TR tr)
{
    if (cache.refs.generation != devid_tpm_generation_locked())
        return;
    for (size_t i = 0; i < cache.refs.count; i++) {
        if (cache.refs.list[i].tr == tr) {
            if (--cache.refs.list[i].refs == 0) {
                Esys_TR_Close(ctx, &tr);
                cache.refs.list[i] = cache.refs.list[--cache.refs.count];
            }
            return;
        }
    }
}

static devid_rc list_handles(ESYS_CONTEXT *ctx, uint32_t first, uint32_t **list, size_t *n)
{
    for (TPMI_YES_NO more = 1; more;) {
        TPMS_CAPABILITY_DATA *cap = NULL;
        devid_rc rc = DEVID_ESYS("listing TPM handles", Esys_GetCapability, ctx, ESYS_TR_NONE,
                                 ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_HANDLES, first,
                                 TPM2_MAX_CAP_HANDLES, &more, &cap);
        if (rc != DEVID_OK)
            return rc;
        uint32_t count = cap->data.handles.count;
        uint32_t *grown = count ? realloc(*list, (*n + count) * sizeof(**list)) : *list;
        if (count && !grown) {
            Esys_Free(cap);
            return devid_fail(DEVID_ERR_MEMORY, "handle list");
        }
        *list = grown;
        for (uint32_t i = 0; i < count; i++)
            (*list)[(*n)++] = cap->data.handles.handle[i];
        if (count) /* the TPM lists handles of first's type only */
            first = cap->data.handles.handle[count - 1] + 1;
        else
            more = 0;
        Esys_Free(cap);
    }
    return DEVID_OK;
}

/* Is this persistent handle / NV index defined? From a list of its type at most a second old
 * (other processes may provision meanwhile). Lock held. */
devid_rc devid_tpm_handle_present(ESYS_CONTEXT *ctx, uint32_t handle, bool *present)
{
    uint8_t type = (uint8_t)(handle >> 24);
    if (type != TPM2_HT_PERSISTENT && type != TPM2_HT_NV_INDEX)
        return devid_fail(DEVID_ERR_ARG, "0x%08x is neither persistent nor an NV index", handle);
    int k = type == TPM2_HT_NV_INDEX;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (cache.present[k].generation != devid_tpm_generation_locked() ||
        now.tv_sec - cache.present[k].when.tv_sec > 1) {
        free(cache.present[k].handles);
        cache.present[k].handles = NULL;
        cache.present[k].count = 0;
        cache.present[k].generation = 0;
        uint32_t *list = NULL;
        size_t n = 0;
        devid_rc rc = list_handles(ctx, (uint32_t)type << 24, &list, &n);
        if (rc != DEVID_OK) {
            free(list);
            return rc;
        }
        cache.present[k].handles = list;
        cache.present[k].count = n;
        cache.present[k].generation = devid_tpm_generation_locked();
        cache.present[k].when = now;
    }
    *present = false;
    for (size_t i = 0; i < cache.present[k].count; i++)
        if (cache.present[k].handles[i] == handle)
            *present = true;
    return DEVID_OK;
}

devid_rc devid_tpm_resolve(ESYS_CONTEXT *ctx, uint32_t tpm_handle, ESYS_TR *out)
{
    uint8_t type = (uint8_t)(tpm_handle >> 24);
    if (type == TPM2_HT_PERSISTENT || type == TPM2_HT_NV_INDEX) {
        bool present = false;
        devid_rc rc = devid_tpm_handle_present(ctx, tpm_handle, &present);
        if (rc != DEVID_OK)
            return rc;
        if (!present)
            return devid_fail(DEVID_ERR_NOT_FOUND, "handle 0x%08x: not defined", tpm_handle);
    }
    if (cache.refs.generation !=
        devid_tpm_generation_locked()) { /* a new connection: a new ESYS context */
        cache.refs.count = 0;
        cache.refs.generation = devid_tpm_generation_locked();
    }
    for (size_t i = 0; i < cache.refs.count; i++) {
        if (cache.refs.list[i].handle == tpm_handle) {
            cache.refs.list[i].refs++;
            *out = cache.refs.list[i].tr;
            return DEVID_OK;
        }
    }
    if (cache.refs.count == cache.refs.cap) {
        size_t cap = cache.refs.cap ? 2 * cache.refs.cap : 16;
        void *grown = realloc(cache.refs.list, cap * sizeof(*cache.refs.list));
        if (!grown)
            return devid_fail(DEVID_ERR_MEMORY, "handle table");
        cache.refs.list = grown;
        cache.refs.cap = cap;
    }
    if (type == TPM2_HT_PERSISTENT) /* its TPM2_ReadPublic needs an object slot */
        devid_keys_make_room_locked(ctx);
    TSS2_RC rc = DEVID_ESYS_RAW(Esys_TR_FromTPMPublic, ctx, tpm_handle, ESYS_TR_NONE, ESYS_TR_NONE,
                                ESYS_TR_NONE, out);
    if (rc == TSS2_RC_SUCCESS) {
        cache.refs.list[cache.refs.count].handle = tpm_handle;
        cache.refs.list[cache.refs.count].tr = *out;
        cache.refs.list[cache.refs.count].refs = 1;
        cache.refs.count++;
        return DEVID_OK;
    }
    char what[64];
    snprintf(what, sizeof(what), "handle 0x%08x", tpm_handle);
    devid_rc drc = devid_tpm_result_locked(rc, what);
    /* Absent handles come back as TPM_RC_HANDLE or (NV) TPM_RC_HANDLE|P1 */
    return drc;
}

void devid_tpm_handles_forget_locked(void)
{
    forget_present_locked();
    forget_refs_locked();
}
