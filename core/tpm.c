/* SPDX-License-Identifier: Apache-2.0 */
#include "tpm.h"
#include "tpm_diag.h"
#include "tpm_users.h"
#include "core.h"
#include "log.h"
#include "key_internal.h"
#include "session.h"
#include "srk.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

static pthread_mutex_t tpm_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static struct {
    ESYS_CONTEXT *esys;
    TSS2_TCTI_CONTEXT *tcti;
    pid_t pid;      /* process that opened the connection */
    bool behind_rm; /* through a resource manager (tpm_users.h) */
    uint64_t generation;
    uint16_t nv_buffer_max; /* 0 = not read yet */
} tpm;

static _Thread_local TSS2_RC last_rc;

TSS2_RC devid_tpm_last_rc(void)
{
    return last_rc;
}

/* The child of a fork must not talk over the parent's connection: forget it without sending
 * anything (finalizing the TCTI could send a session-end over the shared socket). ESYS memory
 * is freed; the TCTI's small allocation is abandoned on purpose, but kept referenced (one per
 * fork at most) so that leak checkers (valgrind, LSan) do not report it as lost. */
static TSS2_TCTI_CONTEXT *volatile abandoned_tcti; /* volatile: the store must stay */

static void forget_connection_locked(void)
{
    if (tpm.esys)
        Esys_Finalize(&tpm.esys);
    tpm.esys = NULL;
    if (tpm.tcti)
        abandoned_tcti = tpm.tcti;
    tpm.tcti = NULL;
    tpm.nv_buffer_max = 0;
    devid_tpm_handles_forget_locked();
    devid_session_forget_locked();
    devid_srk_forget_locked();
    devid_keys_forget_loaded_locked();
    devid_tpm_users_forget_locked();
}

/* Without a resource manager the child shares the TPM's few object slots with its parent, and
 * may not flush the parent's objects (tpm_users.h): the parent gives back what it has loaded
 * or made (reloaded or remade when next used), so a child that uses the TPM has room. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&tpm_mutex);
    if (tpm.esys && !tpm.behind_rm && tpm.pid == getpid()) {
        devid_keys_flush_loaded(tpm.esys);
        devid_session_close(tpm.esys); /* and a transient salt key or SRK (remade when needed) */
        devid_srk_close(tpm.esys);
    }
}
static void atfork_parent(void)
{
    pthread_mutex_unlock(&tpm_mutex);
}
static void atfork_child(void)
{
    if (tpm.esys)
        forget_connection_locked(); /* still holding the lock atfork_prepare took */
    pthread_mutex_unlock(&tpm_mutex);
}

static void install_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* graceful: flush what we loaded; otherwise the connection is broken and only forgotten. */
static void close_connection_locked(bool graceful)
{
    devid_tpm_handles_forget_locked();
    if (graceful && tpm.esys) {
        devid_keys_flush_loaded(tpm.esys);
        devid_session_close(tpm.esys);
        devid_srk_close(tpm.esys);
    } else {
        devid_keys_forget_loaded_locked();
        devid_session_forget_locked();
        devid_srk_forget_locked();
    }
    if (tpm.esys)
        Esys_Finalize(&tpm.esys);
    if (tpm.tcti)
        Tss2_TctiLdr_Finalize(&tpm.tcti);
    tpm.esys = NULL;
    tpm.tcti = NULL;
    tpm.nv_buffer_max = 0;
    devid_tpm_users_leave_locked(); /* what we loaded is flushed, or an orphan now */
}

static devid_rc connect_locked(void)
{
    const devid_config *cfg = devid_core_config();
    const char *conf = cfg ? cfg->tcti : NULL;
    TSS2_RC rc = TSS2_TCTI_RC_IO_ERROR;
    const char *used = conf;
    if (conf) {
        rc = Tss2_TctiLdr_Initialize(conf, &tpm.tcti);
    } else {
        /* tpm2-tss's own search tries tabrmd first, whose D-Bus client prints to stderr when
         * there is no bus: search ourselves, silently (tabrmd only when configured). */
        static const char *const defaults[] = { "device:/dev/tpmrm0", "device:/dev/tpm0", "swtpm",
                                                "mssim" };
        for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]) && rc; i++) {
            if (strncmp(defaults[i], "device:", 7) == 0 && access(defaults[i] + 7, F_OK) != 0)
                continue;
            rc = Tss2_TctiLdr_Initialize(defaults[i], &tpm.tcti);
            used = defaults[i];
        }
    }
    if (rc != TSS2_RC_SUCCESS) {
        tpm.tcti = NULL;
        return devid_tpm_connect_failed(conf, rc); /* missing, not permitted, busy: which */
    }
    rc = Esys_Initialize(&tpm.esys, tpm.tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        Tss2_TctiLdr_Finalize(&tpm.tcti);
        tpm.esys = NULL;
        tpm.tcti = NULL;
        return devid_fail(DEVID_ERR_NO_TPM, "ESAPI initialisation failed: %s", Tss2_RC_Decode(rc));
    }
    tpm.pid = getpid();
    /* the kernel's (/dev/tpmrm*) or tpm2-abrmd: each connection sees only its own objects */
    tpm.behind_rm = used && (strncmp(used, "device:/dev/tpmrm", 17) == 0 ||
                             strncmp(used, "tabrmd", 6) == 0 ||
                             strncmp(used, "libtss2-tcti-tabrmd", 19) == 0);
    tpm.generation++;
    devid_tpm_users_join_locked(); /* before anything is loaded (tpm_users.h) */
    devid_debug("connected to the TPM (%s), generation %llu", conf ? conf : "default TCTI",
                (unsigned long long)tpm.generation);
    return DEVID_OK;
}

void devid_tpm_lock_noconnect(ESYS_CONTEXT **ctx)
{
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&tpm_mutex);
    if (tpm.esys && tpm.pid != getpid())
        forget_connection_locked();
    *ctx = tpm.esys;
}

devid_rc devid_tpm_lock(ESYS_CONTEXT **ctx)
{
    pthread_once(&atfork_once, install_atfork);
    pthread_mutex_lock(&tpm_mutex);
    if (tpm.esys && tpm.pid != getpid())
        forget_connection_locked(); /* forked without our atfork handler having run (vfork/clone) */
    if (!tpm.esys) {
        devid_rc rc = connect_locked();
        if (rc != DEVID_OK) {
            pthread_mutex_unlock(&tpm_mutex);
            return rc;
        }
    }
    *ctx = tpm.esys;
    return DEVID_OK;
}

void devid_tpm_unlock(void)
{
    pthread_mutex_unlock(&tpm_mutex);
}

bool devid_tpm_alive(ESYS_CONTEXT *ctx)
{
    return ctx && tpm.esys == ctx;
}

bool devid_tpm_behind_rm_locked(void)
{
    return tpm.esys && tpm.behind_rm;
}

uint64_t devid_tpm_generation_locked(void)
{
    return tpm.generation;
}

void devid_tpm_disconnect(void)
{
    pthread_mutex_lock(&tpm_mutex);
    if (tpm.esys && tpm.pid != getpid())
        forget_connection_locked();
    close_connection_locked(true);
    pthread_mutex_unlock(&tpm_mutex);
}

/* At exit or unload, give back what we loaded: without a resource manager (swtpm, a bare
 * /dev/tpm0) nobody else would, and the TPM's few object slots would stay taken. Hosts do not
 * always finalize us (an OpenSSL provider is rarely torn down at exit). Only TPM2_FlushContext
 * is sent: it needs no crypto, which may already be shut down at this point. */
__attribute__((destructor)) static void flush_at_unload(void)
{
    if (pthread_mutex_trylock(&tpm_mutex) != 0)
        return; /* another thread is mid-command: leave it */
    if (tpm.esys && tpm.pid == getpid())
        close_connection_locked(true);
    pthread_mutex_unlock(&tpm_mutex);
}

/* Connection-level failures: the context cannot be trusted any more. */
static bool is_connection_failure(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    if (layer == TSS2_TCTI_RC_LAYER)
        return true;
    return rc == TSS2_ESYS_RC_BAD_SEQUENCE || rc == TSS2_ESYS_RC_MALFORMED_RESPONSE ||
           rc == TSS2_ESYS_RC_INSUFFICIENT_RESPONSE || rc == TSS2_ESYS_RC_BAD_TCTI_STRUCTURE ||
           rc == TSS2_ESYS_RC_IO_ERROR;
}

static devid_rc classify_tpm_rc(TSS2_RC rc)
{
    TSS2_RC code = rc & 0xFFF;
    if (code & TPM2_RC_FMT1) {
        switch (code & (TPM2_RC_FMT1 | 0x3F)) {
        case TPM2_RC_AUTH_FAIL:
        case TPM2_RC_BAD_AUTH:
            return DEVID_ERR_AUTH;
        case TPM2_RC_HANDLE:
            return DEVID_ERR_NOT_FOUND;
        case TPM2_RC_SCHEME:
        case TPM2_RC_HASH:
        case TPM2_RC_CURVE:
        case TPM2_RC_KEY_SIZE:
        case TPM2_RC_ASYMMETRIC:
        case TPM2_RC_SYMMETRIC:
            return DEVID_ERR_UNSUPPORTED;
        case TPM2_RC_ATTRIBUTES:
        case TPM2_RC_KEY:
        case TPM2_RC_TYPE:
            return DEVID_ERR_KEY_USAGE;
        case TPM2_RC_SIZE:
        case TPM2_RC_VALUE:
            return DEVID_ERR_ARG;
        default:
            return DEVID_ERR_TPM;
        }
    }
    switch (code) {
    case TPM2_RC_LOCKOUT:
        return DEVID_ERR_LOCKOUT;
    case TPM2_RC_RETRY:
    case TPM2_RC_YIELDED:
    case TPM2_RC_TESTING:
    case TPM2_RC_CANCELED:
    case TPM2_RC_NV_RATE:
    case TPM2_RC_NV_UNAVAILABLE:
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
        return DEVID_ERR_RETRY;
    case TPM2_RC_COMMAND_CODE:
        return DEVID_ERR_UNSUPPORTED;
    default:
        return DEVID_ERR_TPM;
    }
}

/* TPM_RC_INITIALIZE or TPM_RC_REFERENCE_*: a reset TPM lost our sessions and loaded objects. */
static bool is_tpm_reset(TSS2_RC rc)
{
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK, code = rc & 0xFFF;
    if (layer != TSS2_TPM_RC_LAYER && layer != TSS2_RESMGR_TPM_RC_LAYER)
        return false;
    return code == TPM2_RC_INITIALIZE ||
           (code >= TPM2_RC_REFERENCE_H0 && code <= TPM2_RC_REFERENCE_S6);
}

void devid_tpm_recover_locked(TSS2_RC rc)
{
    if (is_connection_failure(rc)) {
        close_connection_locked(false);
    } else if (is_tpm_reset(rc)) {
        if ((rc & 0xFFF) == TPM2_RC_INITIALIZE && tpm.esys) {
            /* The TPM was reset and nobody ran TPM2_Startup (a bare simulator): do it. Real
             * platforms' firmware has always done this already. */
            DEVID_ESYS_RAW(Esys_Startup, tpm.esys, TPM2_SU_CLEAR);
        }
        /* start over on a new connection (everything re-resolves); the caller retries */
        close_connection_locked(false);
    }
}

devid_rc devid_tpm_result_locked(TSS2_RC rc, const char *what)
{
    if (rc != TSS2_RC_SUCCESS)
        devid_tpm_recover_locked(rc);
    return devid_tpm_rc_map(rc, what);
}

devid_rc devid_tpm_rc_map(TSS2_RC rc, const char *what)
{
    last_rc = rc;
    if (rc == TSS2_RC_SUCCESS)
        return DEVID_OK;
    TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
    devid_rc mapped;
    if (is_connection_failure(rc)) {
        mapped = DEVID_ERR_NO_TPM;
    } else if (is_tpm_reset(rc)) {
        mapped = DEVID_ERR_RETRY; /* after devid_tpm_recover_locked, a retry can succeed */
    } else if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) {
        mapped = classify_tpm_rc(rc);
    } else if ((rc & 0xFFFF) == TSS2_BASE_RC_TRY_AGAIN) {
        mapped = DEVID_ERR_RETRY;
    } else if ((rc & 0xFFFF) == TSS2_BASE_RC_MEMORY) {
        mapped = DEVID_ERR_MEMORY;
    } else {
        mapped = DEVID_ERR_TPM;
    }
    return devid_fail(mapped, "%s: %s (0x%x)", what, Tss2_RC_Decode(rc), rc);
}

bool devid_tpm_retry_wait(devid_rc rc, unsigned *retries)
{
    if (rc != DEVID_ERR_RETRY)
        return false;
    if (*retries >= DEVID_TPM_RETRIES) {
        char detail[256];
        snprintf(detail, sizeof(detail), "%s", devid_last_error());
        devid_fail(DEVID_ERR_RETRY, "the TPM is still busy after %u retries over %u ms: %s",
                   *retries, DEVID_TPM_RETRY_FIRST_MS * ((1u << *retries) - 1), detail);
        return false;
    }
    long ms = (long)DEVID_TPM_RETRY_FIRST_MS << *retries;
    (*retries)++;
    devid_debug("TPM busy (%s): retry %u of %u in %ld ms", devid_last_error(), *retries,
                DEVID_TPM_RETRIES, ms);
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    return true;
}

devid_rc devid_tpm_run(devid_tpm_op op, void *arg)
{
    unsigned retries = 0;
    for (int attempt = 0;; attempt++) {
        ESYS_CONTEXT *ctx;
        devid_rc rc = devid_tpm_lock(&ctx);
        if (rc != DEVID_OK)
            return rc; /* cannot (re)connect: the TPM really is gone */
        rc = op(ctx, arg);
        devid_tpm_unlock();
        if (rc == DEVID_ERR_NO_TPM && attempt == 0)
            continue; /* stale connection: one more try on a new one */
        if (devid_tpm_retry_wait(rc, &retries))
            continue;
        return rc;
    }
}

devid_rc devid_tpm_properties(ESYS_CONTEXT *ctx, const char *what, TPM2_PT first, UINT32 count,
                              UINT32 *values, unsigned *seen)
{
    *seen = 0;
    if (count == 0 || count > 32)
        return devid_fail(DEVID_ERR_INTERNAL, "%s: %u TPM properties asked", what, count);
    TPMS_CAPABILITY_DATA *cap = NULL;
    devid_rc rc = DEVID_ESYS(what, Esys_GetCapability, ctx, ESYS_TR_NONE, ESYS_TR_NONE,
                             ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES, first, count, NULL, &cap);
    if (rc != DEVID_OK)
        return rc;
    for (UINT32 i = 0; i < cap->data.tpmProperties.count; i++) {
        const TPMS_TAGGED_PROPERTY *p = &cap->data.tpmProperties.tpmProperty[i];
        if (p->property >= first && p->property - first < count) {
            values[p->property - first] = p->value;
            *seen |= 1u << (p->property - first);
        }
    }
    Esys_Free(cap);
    return DEVID_OK;
}

devid_rc devid_tpm_nv_buffer_max(ESYS_CONTEXT *ctx, uint16_t *out)
{
    if (!tpm.nv_buffer_max) {
        UINT32 value = 0;
        unsigned seen = 0;
        devid_rc drc = devid_tpm_properties(ctx, "reading TPM2_PT_NV_BUFFER_MAX",
                                            TPM2_PT_NV_BUFFER_MAX, 1, &value, &seen);
        if (drc != DEVID_OK)
            return drc;
        uint16_t max = 512; /* the PC Client minimum, if the TPM does not say */
        if (seen)
            max = (uint16_t)value;
        tpm.nv_buffer_max = max ? max : 512;
    }
    *out = tpm.nv_buffer_max;
    return DEVID_OK;
}
