/* SPDX-License-Identifier: Apache-2.0 */
/* Crash-safe file helpers. devid-enroll uses all but the devid__ ones (exported, core.map);
 * those are core-internal. */
#ifndef DEVID_FSUTIL_H
#define DEVID_FSUTIL_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Writes data to path atomically: a temp file in the same directory, fsync, rename over path,
 * fsync the directory. A crash leaves the old content or the new, never a mix. */
devid_rc devid_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* The same but the directory's fsync: the rename is durable only once the directory is, by the
 * next devid_write_file_atomic (or any synced change) in the same directory. For a batch of
 * files in one directory whose renames may become durable in any order: one directory fsync
 * for the batch instead of one per file. */
devid_rc devid_write_file_atomic_batched(const char *path, const void *data, size_t len,
                                         mode_t mode);

/* Reads a whole regular file (at most max bytes) into a malloc'd, NUL-terminated buffer. */
devid_rc devid_read_file(const char *path, size_t max, unsigned char **data, size_t *len);

/* devid_read_file for a file holding a secret (a PIN, a password, an auth value): refused with
 * DEVID_ERR_CONFIG, naming `what` (e.g. "pin_file /etc/devid/user.pin (in devid.conf)") and
 * the chmod/chown that fixes it, if it is group- or world-writable, world-readable, or owned
 * by a user other than root and the effective user. */
devid_rc devid_read_secret_file(const char *path, const char *what, size_t max,
                                unsigned char **data, size_t *len);

/* Creates dir (one level) with exactly mode (whatever the umask) if absent; an existing
 * directory is left as it is. */
devid_rc devid_ensure_dir(const char *dir, mode_t mode);

/* The fsyncs (of files and directories) this process has made through these helpers, and
 * their wall time in nanoseconds: the price of durability, which a benchmark shows apart. */
void devid_fs_sync_stats(unsigned *count, uint64_t *ns);

/* Opens path read-only, creating it with exactly mode (whatever the umask) if it is absent; no
 * other process ever sees it with another mode. A file shared by a group that any member may
 * be the first to create (the store's lock file). An fd, or -1 with errno. */
int devid__open_or_create(const char *path, mode_t mode);

/* fsyncs a directory, so renames and unlinks in it are durable. */
devid_rc devid__sync_dir(const char *dir);

#endif
