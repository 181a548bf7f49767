/* SPDX-License-Identifier: Apache-2.0 */
#include "srk.h"
#include "hierarchy.h"
#include "key_internal.h"
#include "tpm.h"

#include <string.h>

static struct {
    uint64_t generation;
    ESYS_TR persistent;      /* resolved DEVID_SRK_PERSISTENT, or ESYS_TR_NONE */
    ESYS_TR created;         /* transient standard SRK, or ESYS_TR_NONE */
    uint32_t created_handle; /* its TPM handle */
    int has_persistent;      /* -1 unknown, 0 no, 1 yes */
} srk = { 0, ESYS_TR_NONE, ESYS_TR_NONE, 0, -1 };

void devid_srk_forget_locked(void)
{
    srk.persistent = ESYS_TR_NONE;
    srk.created = ESYS_TR_NONE;
    srk.created_handle = 0;
    srk.has_persistent = -1;
}

bool devid_srk_owns_transient_locked(uint32_t h)
{
    if (srk.created == ESYS_TR_NONE || srk.generation != devid_tpm_generation_locked())
        return false;
    return srk.created_handle == h;
}

bool devid_srk_transient_loaded_locked(void)
{
    return srk.created != ESYS_TR_NONE && srk.generation == devid_tpm_generation_locked();
}

void devid_srk_close(ESYS_CONTEXT *ctx)
{
    if (ctx && srk.generation == devid_tpm_generation_locked() && srk.created != ESYS_TR_NONE)
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, srk.created);
    devid_srk_forget_locked();
}

static void sync_generation_locked(void)
{
    if (srk.generation != devid_tpm_generation_locked()) {
        devid_srk_forget_locked();
        srk.generation = devid_tpm_generation_locked();
    }
}

devid_rc devid_create_storage_primary(ESYS_CONTEXT *ctx, ESYS_TR hierarchy, ESYS_TR *out)
{
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_PUBLIC tmpl = {
        .publicArea = {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
            .parameters.eccDetail = {
                .symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
                               .mode.aes = TPM2_ALG_CFB },
                .scheme = { .scheme = TPM2_ALG_NULL },
                .curveID = TPM2_ECC_NIST_P256,
                .kdf = { .scheme = TPM2_ALG_NULL },
            },
        },
    };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TSS2_RC rc;
    ESYS_TR session = ESYS_TR_PASSWORD;
    devid_cmd_shape shape = { .first_in_sized = true };
    if (hierarchy == ESYS_TR_RH_OWNER) {
        devid_rc hrc = devid_hierarchy_session(ctx, hierarchy, shape, &session);
        if (hrc != DEVID_OK)
            return hrc;
    }
    do {
        rc = DEVID_ESYS_RAW(Esys_CreatePrimary, ctx, hierarchy, session, ESYS_TR_NONE, ESYS_TR_NONE,
                            &sensitive, &tmpl, &outside, &pcrs, out, NULL, NULL, NULL, NULL);
    } while (DEVID_TPM_OBJECT_MEMORY(rc) && devid_keys_evict_one(ctx));
    return devid_hierarchy_check(ctx, rc, hierarchy,
                                 hierarchy == ESYS_TR_RH_OWNER
                                     ? "creating the standard SRK (owner hierarchy)"
                                     : "creating a storage key in the null hierarchy");
}

static devid_rc probe_persistent(ESYS_CONTEXT *ctx)
{
    if (srk.has_persistent >= 0)
        return DEVID_OK;
    devid_rc rc = devid_tpm_resolve(ctx, DEVID_SRK_PERSISTENT, &srk.persistent);
    if (rc == DEVID_ERR_NOT_FOUND || rc == DEVID_ERR_TPM) {
        srk.has_persistent = 0;
        srk.persistent = ESYS_TR_NONE;
        return DEVID_OK;
    }
    if (rc == DEVID_OK)
        srk.has_persistent = 1;
    return rc;
}

devid_rc devid_srk_default_parent(ESYS_CONTEXT *ctx, uint32_t *parent)
{
    sync_generation_locked();
    devid_rc rc = probe_persistent(ctx);
    if (rc == DEVID_OK)
        *parent = srk.has_persistent ? DEVID_SRK_PERSISTENT : TPM2_RH_OWNER;
    return rc;
}

devid_rc devid_srk_resolve(ESYS_CONTEXT *ctx, uint32_t parent, ESYS_TR *out)
{
    sync_generation_locked();
    if (parent == TPM2_RH_OWNER) {
        if (srk.created == ESYS_TR_NONE) {
            devid_rc rc = devid_create_storage_primary(ctx, ESYS_TR_RH_OWNER, &srk.created);
            if (rc != DEVID_OK) {
                srk.created = ESYS_TR_NONE;
                return rc;
            }
            TPM2_HANDLE h = 0;
            if (Esys_TR_GetTpmHandle(ctx, srk.created, &h) == 0)
                srk.created_handle = h;
        }
        *out = srk.created;
        return DEVID_OK;
    }
    if ((parent >> 24) != TPM2_HT_PERSISTENT)
        return devid_fail(DEVID_ERR_UNSUPPORTED,
                          "parent 0x%08x: only persistent parents and "
                          "the owner SRK are supported",
                          parent);
    if (parent == DEVID_SRK_PERSISTENT) {
        devid_rc rc = probe_persistent(ctx);
        if (rc != DEVID_OK)
            return rc;
        if (!srk.has_persistent)
            return devid_fail(DEVID_ERR_NOT_FOUND, "no SRK at 0x%08x", parent);
        *out = srk.persistent;
        return DEVID_OK;
    }
    return devid_tpm_resolve(ctx, parent, out); /* other persistent parents: not cached */
}
