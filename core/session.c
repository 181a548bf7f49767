/* SPDX-License-Identifier: Apache-2.0 */
#include "session.h"
#include "log.h"
#include "srk.h"
#include "tpm.h"

#include <stdatomic.h>

/* Candidates to salt with, in order: the SRK, then the EKs. All are decrypt keys whose
 * private part never leaves the TPM. */
static const uint32_t salt_key_handles[] = { 0x81000001, 0x81010001, 0x81010002 };

static struct {
    ESYS_TR session; /* ESYS_TR_NONE when none */
    ESYS_TR salt_key;
    bool salt_transient; /* created by us: flush on close */
    uint64_t generation;
} kept = { ESYS_TR_NONE, ESYS_TR_NONE, false, 0 };

static atomic_ulong started;

unsigned long devid_session_started_count(void)
{
    return atomic_load(&started);
}

bool devid_session_owns_transient(ESYS_CONTEXT *ctx, uint32_t h)
{
    TPM2_HANDLE mine = 0;
    return kept.salt_transient && kept.salt_key != ESYS_TR_NONE &&
           Esys_TR_GetTpmHandle(ctx, kept.salt_key, &mine) == 0 && mine == h;
}

void devid_session_forget_locked(void)
{
    kept.session = ESYS_TR_NONE;
    kept.salt_key = ESYS_TR_NONE;
    kept.salt_transient = false;
}

bool devid_session_salt_loaded_locked(void)
{
    return kept.salt_transient && kept.salt_key != ESYS_TR_NONE &&
           kept.generation == devid_tpm_generation_locked();
}

bool devid_session_release_salt(ESYS_CONTEXT *ctx)
{
    if (!kept.salt_transient || kept.salt_key == ESYS_TR_NONE ||
        kept.generation != devid_tpm_generation_locked())
        return false;
    if (DEVID_ESYS_RAW(Esys_FlushContext, ctx, kept.salt_key) != 0)
        return false;
    kept.salt_key = ESYS_TR_NONE;
    kept.salt_transient = false;
    return true;
}

void devid_session_close(ESYS_CONTEXT *ctx)
{
    if (ctx && kept.generation == devid_tpm_generation_locked()) {
        if (kept.session != ESYS_TR_NONE)
            DEVID_ESYS_RAW(Esys_FlushContext, ctx, kept.session);
        if (kept.salt_key != ESYS_TR_NONE && kept.salt_transient)
            DEVID_ESYS_RAW(Esys_FlushContext, ctx, kept.salt_key);
        else if (kept.salt_key != ESYS_TR_NONE)
            devid_tpm_release(ctx, kept.salt_key);
    }
    devid_session_forget_locked();
}

static devid_rc find_salt_key(ESYS_CONTEXT *ctx)
{
    for (size_t i = 0; i < sizeof(salt_key_handles) / sizeof(salt_key_handles[0]); i++) {
        ESYS_TR tr;
        devid_rc rc = devid_tpm_resolve(ctx, salt_key_handles[i], &tr);
        if (rc == DEVID_OK) {
            kept.salt_key = tr;
            kept.salt_transient = false;
            return DEVID_OK;
        }
        if (rc != DEVID_ERR_NOT_FOUND && rc != DEVID_ERR_TPM)
            return rc; /* connection trouble: do not keep probing */
    }
    /* no SRK or EK: a transient storage key in the null hierarchy (needs no authorisation) */
    devid_rc rc = devid_create_storage_primary(ctx, ESYS_TR_RH_NULL, &kept.salt_key);
    kept.salt_transient = rc == DEVID_OK;
    return rc;
}

static devid_rc start_session(ESYS_CONTEXT *ctx)
{
    if (kept.generation != devid_tpm_generation_locked())
        devid_session_forget_locked(); /* handles from an earlier connection are meaningless */
    kept.generation = devid_tpm_generation_locked();
    if (kept.session != ESYS_TR_NONE)
        return DEVID_OK;
    if (kept.salt_key == ESYS_TR_NONE) {
        devid_rc rc = find_salt_key(ctx);
        if (rc != DEVID_OK)
            return rc;
    }
    TPMT_SYM_DEF symmetric = { .algorithm = TPM2_ALG_AES,
                               .keyBits.aes = 128,
                               .mode.aes = TPM2_ALG_CFB };
    devid_rc drc = DEVID_ESYS("starting a salted HMAC session", Esys_StartAuthSession, ctx,
                              kept.salt_key, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                              NULL, TPM2_SE_HMAC, &symmetric, TPM2_ALG_SHA256, &kept.session);
    if (drc != DEVID_OK) {
        kept.session = ESYS_TR_NONE;
        return drc;
    }
    atomic_fetch_add(&started, 1);
    return DEVID_OK;
}

devid_rc devid_session_for(ESYS_CONTEXT *ctx, devid_cmd_shape shape, ESYS_TR *session)
{
    if (!shape.carries_secret) {
        *session = ESYS_TR_PASSWORD;
        return DEVID_OK;
    }
    devid_rc rc = start_session(ctx);
    if (rc != DEVID_OK)
        return rc;
    TPMA_SESSION attrs = TPMA_SESSION_CONTINUESESSION;
    if (shape.first_in_sized)
        attrs |= TPMA_SESSION_DECRYPT;
    if (shape.first_out_sized)
        attrs |= TPMA_SESSION_ENCRYPT;
    TSS2_RC trc = Esys_TRSess_SetAttributes(ctx, kept.session, attrs, 0xff);
    rc = devid_tpm_result_locked(trc, "setting session attributes");
    if (rc != DEVID_OK)
        return rc;
    *session = kept.session;
    return DEVID_OK;
}
