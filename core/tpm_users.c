/* SPDX-License-Identifier: Apache-2.0 */
/* Which devid processes are connected to the TPM (tpm_users.h). */
/* (F_OFD_SETLK, F_OFD_GETLK: _GNU_SOURCE, set for the whole build) */
#include "tpm_users.h"
#include "config.h"
#include "core.h"
#include "fsutil.h"
#include "log.h"
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int users_fd = -1; /* our registration: a read lock on byte 0 of <store>/.lock */
static bool refused;      /* the lock file could not be opened: not tried again this connection */

static struct flock byte0(short type)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl)); /* l_pid must be 0 for OFD locks */
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    return fl;
}

void devid_tpm_users_join_locked(void)
{
    if (users_fd >= 0 || refused)
        return;
    const char *dir = store_dir();
    char path[4096];
    struct stat st;
    if (!dir || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return; /* no store yet: nothing of a crashed run of ours to flush either */
    snprintf(path, sizeof(path), "%s/.lock", dir);
    /* read-only, like the store lock: every member of the store's group can take a read lock;
     * created with the certificates' mode, as store_lock would */
    int fd = devid__open_or_create(path, (mode_t)devid_core_config()->store_cert_mode);
    if (fd < 0) {
        devid_debug("TPM users: %s: %s (this process will not flush orphaned objects)", path,
                    strerror(errno));
        refused = true;
        return;
    }
    mode_t mode = (mode_t)devid_core_config()->store_cert_mode;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) != mode)
        (void)fchmod(fd, mode); /* ours, made under another umask: the group must read it */
    struct flock fl = byte0(F_RDLCK);
    int r;
    while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        devid_debug("TPM users: locking %s: %s", path, strerror(errno));
        close(fd);
        return;
    }
    users_fd = fd;
}

void devid_tpm_users_leave_locked(void)
{
    if (users_fd >= 0)
        close(users_fd); /* the last descriptor of the description: the lock goes with it */
    users_fd = -1;
    refused = false;
}

void devid_tpm_users_forget_locked(void)
{
    /* the description is shared with the parent: closing our copy leaves its lock alone */
    devid_tpm_users_leave_locked();
}

bool devid_tpm_users_alone_locked(void)
{
    if (users_fd < 0)
        return false;
    /* would a write lock conflict? Only with another description's read lock (our own does
     * not count): another devid process connected */
    struct flock fl = byte0(F_WRLCK);
    if (fcntl(users_fd, F_OFD_GETLK, &fl) != 0) {
        devid_debug("TPM users: F_OFD_GETLK: %s", strerror(errno));
        return false;
    }
    return fl.l_type == F_UNLCK;
}
