/* SPDX-License-Identifier: Apache-2.0 */
/* The process's one connection to the TPM (core-internal: front-ends never include this).
 *
 * ESAPI is not thread-safe, so every TPM command runs between devid_tpm_lock() and
 * devid_tpm_unlock(). The context is created lazily on the first lock, re-created after fork
 * (the child never reuses the parent's connection) and after a lost connection (swtpm
 * restarted, resource manager gone): devid_tpm_recover_locked() drops a broken context, the
 * next lock reconnects. Every (re)connect bumps the generation; anything that caches ESYS_TR
 * handles stores the generation it got them in and re-resolves when it changed.
 *
 * Names: a function that takes an ESYS_CONTEXT * runs with this lock held (only the lock
 * hands out a context); one that needs the lock without taking a context ends in _locked.
 */
#ifndef DEVID_TPM_H
#define DEVID_TPM_H

#include "error.h"

#include <stdbool.h>
#include <stdint.h>
#include <tss2/tss2_esys.h>

/* Locks the TPM and returns a connected context. On failure the lock is NOT held. */
devid_rc devid_tpm_lock(ESYS_CONTEXT **ctx);
void devid_tpm_unlock(void);
/* Locks without connecting: *ctx is NULL when there is no connection. Always unlock after. */
void devid_tpm_lock_noconnect(ESYS_CONTEXT **ctx);

/* Whether the connection goes through a resource manager (/dev/tpmrm*, tpm2-abrmd): then it
 * sees only its own transient objects (lock held). */
bool devid_tpm_behind_rm_locked(void);

/* False once a failed command made core drop the connection ctx belonged to: ctx must not be
 * used any more (lock held). */
bool devid_tpm_alive(ESYS_CONTEXT *ctx);

/* Generation of the current connection (valid while locked). */
uint64_t devid_tpm_generation_locked(void);

/* Maps a tpm2-tss return code to a devid_rc with detail "what: <decoded rc>" and records it
 * (devid_tpm_last_rc); nothing else. TSS2_RC_SUCCESS → DEVID_OK. A lost connection is
 * DEVID_ERR_NO_TPM; a TPM reset under us (TPM_RC_INITIALIZE, TPM_RC_REFERENCE_*) is
 * DEVID_ERR_RETRY, which holds once devid_tpm_recover_locked has run. */
devid_rc devid_tpm_rc_map(TSS2_RC rc, const char *what);
/* The recovery a failed command calls for: a lost connection is dropped (the next lock
 * reconnects); a reset TPM gets TPM2_Startup if it needs one and the connection is dropped
 * too (our sessions and loaded objects are gone). Nothing for other codes. */
void devid_tpm_recover_locked(TSS2_RC rc);
/* Both: the result of a TPM command as core sees it. */
devid_rc devid_tpm_result_locked(TSS2_RC rc, const char *what);

/* Every ESAPI call that sends a TPM command goes through one of these two, lock held: they
 * count it (devid_tpm_command_count), and DEVID_ESYS turns its result into a devid_rc with
 * devid_tpm_result_locked:
 *     devid_rc rc = DEVID_ESYS("TPM2_Sign", Esys_Sign, ctx, key->tr, ...);
 *     TSS2_RC trc = DEVID_ESYS_RAW(Esys_FlushContext, ctx, tr);  (the raw code, not mapped)
 * (An _Async/_Finish pair is one command: the _Async call goes through DEVID_ESYS_RAW, each
 * _Finish call through DEVID_ESYS_FINISH, which times it without counting it again.)
 * At log level debug (DEVID_LOG=debug) each command is logged by name as it is sent,
 * "devid: debug: TPM command N: Esys_Sign", N counting from 1 in this process: what a test or
 * a benchmark needs to see which commands an operation costs. */
#define DEVID_ESYS_RAW(fn, ...)                                                                    \
    (devid_tpm_count_command(#fn), devid_tpm_command_done(fn(__VA_ARGS__)))
#define DEVID_ESYS_FINISH(fn, ...)                                                                 \
    (devid_tpm_command_resumed(), devid_tpm_command_done(fn(__VA_ARGS__)))
#define DEVID_ESYS(what, fn, ...) devid_tpm_result_locked(DEVID_ESYS_RAW(fn, __VA_ARGS__), what)

/* Retry policy for transient TPM conditions, the one place it lives. DEVID_ERR_RETRY means the
 * TPM said "not now" (TPM_RC_RETRY, TESTING, YIELDED, NV_RATE, out of object memory, a TPM that
 * was reset under us): ESAPI itself resubmits RETRY/TESTING/YIELDED a few times at once; on
 * top of that core waits and tries again DEVID_TPM_RETRIES times with a doubling backoff from
 * DEVID_TPM_RETRY_FIRST_MS (10 ms → 320 ms, ~0.6 s in all). A TPM still busy after that is a
 * DEVID_ERR_RETRY whose message says so. Other errors (LOCKOUT included: waiting would not
 * help within a call) are returned at once.
 *
 * devid_tpm_retry_wait: call without the lock after a failed attempt; sleeps and returns true
 * when rc is worth another attempt (*retries counts them, start at 0). */
#define DEVID_TPM_RETRIES 6
#define DEVID_TPM_RETRY_FIRST_MS 10
bool devid_tpm_retry_wait(devid_rc rc, unsigned *retries);

/* Runs op with the lock held on a connected context, under the policy above; also retries once
 * on a new connection when the old one turns out dead (DEVID_ERR_NO_TPM on the first attempt).
 * op must be safe to run again from the start. */
typedef devid_rc (*devid_tpm_op)(ESYS_CONTEXT *ctx, void *arg);
devid_rc devid_tpm_run(devid_tpm_op op, void *arg);

/* The tpm2-tss code most recently passed to devid_tpm_rc_map in this thread. */
TSS2_RC devid_tpm_last_rc(void);

/* TPM properties first .. first + count - 1 (count <= 32), in one TPM2_GetCapability (what:
 * for the error message). Lock held. values[i] is property first + i; bit i of *seen says the
 * TPM reported it (it may leave some out). */
devid_rc devid_tpm_properties(ESYS_CONTEXT *ctx, const char *what, TPM2_PT first, UINT32 count,
                              UINT32 *values, unsigned *seen);
/* The TPM's NV buffer size (TPM2_PT_NV_BUFFER_MAX), cached per connection. Lock held. */
devid_rc devid_tpm_nv_buffer_max(ESYS_CONTEXT *ctx, uint16_t *out);

/* Persistent handles and NV indices (tpm_handles.c). */
/* Call after creating or removing the persistent handle or NV index `handle`: holders of its
 * ESYS_TR re-resolve (see devid_tpm_tr_epoch_locked). Lock held. */
void devid_tpm_handles_changed_locked(uint32_t handle);
uint64_t devid_tpm_tr_epoch_locked(void);

/* Whether a persistent handle or NV index is defined, from a per-type list that costs one
 * TPM2_GetCapability when older than a second (or on a new connection). Lock held. */
devid_rc devid_tpm_handle_present(ESYS_CONTEXT *ctx, uint32_t handle, bool *present);
/* ESYS_TR for a persistent handle or NV index (DEVID_ERR_NOT_FOUND, without a TPM command,
 * if the TPM's handle list does not have it). Every successful resolve holds a reference:
 * give it back with devid_tpm_release(), never Esys_TR_Close. Lock held. */
devid_rc devid_tpm_resolve(ESYS_CONTEXT *ctx, uint32_t tpm_handle, ESYS_TR *out);
void devid_tpm_release(ESYS_CONTEXT *ctx, ESYS_TR tr);
/* Drops both caches (the handle lists, the resolved ESYS_TRs) without TPM commands: for the
 * connection, when it is closed or lost. Lock held. */
void devid_tpm_handles_forget_locked(void);

/* Closes the connection (finalize / tests). Safe to call when not connected. */
void devid_tpm_disconnect(void);

/* Counting and timing the commands (tpm_count.c). */
/* Number of TPM commands sent by this process (for tests and benchmarks); counted by
 * DEVID_ESYS / DEVID_ESYS_RAW, the only callers of devid_tpm_count_command (`esys_fn`: the
 * ESAPI function's name, for the debug log). */
uint64_t devid_tpm_command_count(void);
void devid_tpm_count_command(const char *esys_fn);
/* The ESAPI call's wall time, added up for devid_tpm_command_ns (core.h): count_command and
 * resumed note when it starts (per thread), done adds what it took and passes rc on. */
void devid_tpm_command_resumed(void);
TSS2_RC devid_tpm_command_done(TSS2_RC rc);

#endif
