/* SPDX-License-Identifier: Apache-2.0 */
/* Which devid processes are connected to the TPM, so that one never flushes another's objects
 * (core-internal; lock held).
 *
 * Without a resource manager (swtpm or mssim over TCP, a bare /dev/tpm0) every connection sees
 * every transient object, and a process killed with objects loaded leaves them in the TPM's few
 * slots for good. Flushing what is not ours frees them, but the same objects may belong to a
 * devid process that is alive and about to sign with them (services run concurrently, as
 * different users): flushed under it, its next command fails, or worse, a handle reused by the
 * flusher's own load names another key. So each connected process holds a read lock (an open
 * file description lock, F_OFD_SETLK) on byte 0 of the store's lock file <store>/.lock for as
 * long as it is connected, taken before it loads anything; the kernel drops it when the
 * process dies. Objects are flushed as orphans only by a process that holds its own lock and
 * finds no other holder both before and after listing them: every object in that list was then
 * made by a process that is no longer connected (a crashed run), never by a live one.
 * (Independent of the flock on the same file that store mutations take.) Behind a resource
 * manager a connection sees only its own objects, so none of this matters there.
 *
 * The price, without a resource manager: processes that together need more objects than the
 * TPM has slots (3 on swtpm) do not get them by taking each other's; the one that finds the TPM
 * full fails with "out of memory for object contexts" after the usual retries. A process gives
 * back what it has loaded when it forks (tpm.c), so that its child has room. */
#ifndef DEVID_TPM_USERS_H
#define DEVID_TPM_USERS_H

#include <stdbool.h>

/* Registers this process as connected (after a connect, before any command; again before each
 * load while it is not, for a process that connected before the store directory existed).
 * Best effort: a process that cannot (no store directory yet, no access) never flushes
 * orphans. */
void devid_tpm_users_join_locked(void);
/* Unregisters (the connection was closed: nothing of ours is left loaded, or it is an orphan). */
void devid_tpm_users_leave_locked(void);
/* A forked child: drops the parent's registration without touching the parent's lock. */
void devid_tpm_users_forget_locked(void);
/* Whether this process is registered and no other process is. */
bool devid_tpm_users_alone_locked(void);

#endif
