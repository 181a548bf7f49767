/* SPDX-License-Identifier: Apache-2.0 */
/* The raw floor: TPM2_Sign through ESAPI on the persistent LDevID, nothing else.
 *
 *  floor-pw   password session (ESYS_TR_PASSWORD): one TPM command per signature, the least
 *             any library can do for an empty-auth key
 *  floor-enc  one salted HMAC session (salt key: the SRK), AES-128-CFB parameter encryption
 *             of the digest, kept open (continueSession): what every signature costs when
 *             each one is session-protected
 *
 * Also the sweep that clears transient objects and sessions between phases.
 */
#include "bench.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>

#define LDEVID 0x81000002u
#define SRK 0x81000001u

typedef struct {
    ESYS_CONTEXT *ctx;
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_TR key, session;
} floor_ctx;

static int floor_op(void *arg, bench_op_io *io, char *err, size_t errlen)
{
    floor_ctx *f = arg;
    TPM2B_DIGEST d = { .size = 32 };
    memcpy(d.buffer, io->dgst, 32);
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
    TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    TPMT_SIGNATURE *sig = NULL;
    TSS2_RC rc = Esys_Sign(f->ctx, f->key, f->session, ESYS_TR_NONE, ESYS_TR_NONE, &d, &scheme,
                           &ticket, &sig);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "Esys_Sign: %s", Tss2_RC_Decode(rc));
        return -1;
    }
    const TPM2B_ECC_PARAMETER *rs[2] = { &sig->signature.ecdsa.signatureR,
                                         &sig->signature.ecdsa.signatureS };
    memset(io->sig, 0, 64);
    for (int k = 0; k < 2; k++) {
        if (rs[k]->size > 32) {
            Esys_Free(sig);
            snprintf(err, errlen, "r/s larger than 32 bytes");
            return -1;
        }
        memcpy(io->sig + 32 * k + 32 - rs[k]->size, rs[k]->buffer, rs[k]->size);
    }
    io->sig_len = 64;
    Esys_Free(sig);
    return 0;
}

static int floor_connect(floor_ctx *f, char *err, size_t errlen)
{
    const char *conf = getenv("DEVID_TCTI");
    TSS2_RC rc = Tss2_TctiLdr_Initialize(conf, &f->tcti);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_Initialize(&f->ctx, f->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "connecting to %s: %s", conf ? conf : "(default TCTI)",
                 Tss2_RC_Decode(rc));
        return -1;
    }
    return 0;
}

static void floor_close(floor_ctx *f)
{
    if (f->ctx) {
        if (f->session != ESYS_TR_NONE && f->session != ESYS_TR_PASSWORD)
            Esys_FlushContext(f->ctx, f->session);
        Esys_Finalize(&f->ctx);
    }
    Tss2_TctiLdr_Finalize(&f->tcti);
}

void phase_floor(bench_result *r, const bench_opts *o, bool encrypted)
{
    char err[256];
    floor_ctx f = { .session = ESYS_TR_PASSWORD };
    void *pub = bench_ldevid_pub(err, sizeof(err));
    if (!pub) {
        bench_fail(r, "%s", err);
        return;
    }
    if (floor_connect(&f, err, sizeof(err))) {
        bench_fail(r, "%s", err);
        goto out;
    }
    TSS2_RC rc = Esys_TR_FromTPMPublic(f.ctx, LDEVID, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       &f.key);
    if (rc != TSS2_RC_SUCCESS) {
        bench_fail(r, "LDevID 0x%08x: %s", LDEVID, Tss2_RC_Decode(rc));
        goto out;
    }
    if (encrypted) {
        ESYS_TR srk;
        TPMT_SYM_DEF sym = { .algorithm = TPM2_ALG_AES,
                             .keyBits.aes = 128,
                             .mode.aes = TPM2_ALG_CFB };
        rc = Esys_TR_FromTPMPublic(f.ctx, SRK, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &srk);
        if (rc == TSS2_RC_SUCCESS)
            rc = Esys_StartAuthSession(f.ctx, srk, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                       ESYS_TR_NONE, NULL, TPM2_SE_HMAC, &sym, TPM2_ALG_SHA256,
                                       &f.session);
        if (rc == TSS2_RC_SUCCESS)
            rc = Esys_TRSess_SetAttributes(f.ctx, f.session,
                                           TPMA_SESSION_CONTINUESESSION | TPMA_SESSION_DECRYPT,
                                           0xff);
        if (rc != TSS2_RC_SUCCESS) {
            f.session = ESYS_TR_NONE;
            bench_fail(r, "salted session (salt key 0x%08x): %s", SRK, Tss2_RC_Decode(rc));
            goto out;
        }
    }
    bench_loop(r, o, floor_op, &f, SIG_RAW_RS, pub, NULL);
out:
    floor_close(&f);
    EVP_PKEY_free(pub);
}

int bench_tpm_sweep(char *err, size_t errlen)
{
    TSS2_TCTI_CONTEXT *tcti = NULL;
    TSS2_SYS_CONTEXT *sys = NULL;
    TSS2_ABI_VERSION abi = TSS2_ABI_VERSION_CURRENT;
    size_t size = Tss2_Sys_GetContextSize(0);
    int flushed = -1;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(getenv("DEVID_TCTI"), &tcti);
    if (rc == TSS2_RC_SUCCESS && !(sys = calloc(1, size)))
        rc = TSS2_BASE_RC_MEMORY;
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_Initialize(sys, size, tcti, &abi);
    if (rc != TSS2_RC_SUCCESS) {
        snprintf(err, errlen, "sweep: connecting: %s", Tss2_RC_Decode(rc));
        goto out;
    }
    flushed = 0;
    /* TPM2_TRANSIENT_FIRST, TPM2_LOADED_SESSION_FIRST (the tss2 macros shift a signed int) */
    const TPM2_HANDLE firsts[] = { 0x80000000u, 0x02000000u };
    for (size_t k = 0; k < 2; k++) {
        TPMS_CAPABILITY_DATA cap = { 0 };
        TPMI_YES_NO more;
        rc = Tss2_Sys_GetCapability(sys, NULL, TPM2_CAP_HANDLES, firsts[k], 64, &more, &cap, NULL);
        if (rc != TSS2_RC_SUCCESS) {
            snprintf(err, errlen, "sweep: GetCapability: %s", Tss2_RC_Decode(rc));
            flushed = -1;
            goto out;
        }
        for (UINT32 i = 0; i < cap.data.handles.count; i++)
            if (Tss2_Sys_FlushContext(sys, cap.data.handles.handle[i]) == TSS2_RC_SUCCESS)
                flushed++;
    }
out:
    if (sys) {
        Tss2_Sys_Finalize(sys);
        free(sys);
    }
    Tss2_TctiLdr_Finalize(&tcti);
    return flushed;
}
