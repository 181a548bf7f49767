/* SPDX-License-Identifier: Apache-2.0 */
#include "fsutil.h"
#include "access_hint.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_uint syncs;
static atomic_uint_fast64_t sync_ns;

/* fsync, counted and timed for devid_fs_sync_stats. */
static int timed_fsync(int fd)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = fsync(fd);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    int64_t ns = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
    atomic_fetch_add(&syncs, 1);
    if (ns > 0)
        atomic_fetch_add(&sync_ns, (uint64_t)ns);
    return r;
}

void devid_fs_sync_stats(unsigned *count, uint64_t *ns)
{
    *count = atomic_load(&syncs);
    *ns = atomic_load(&sync_ns);
}

/* A failed file operation; a "Permission denied" says which mode or group is in the way
 * (`write`: writing or creating path). */
static devid_rc io_fail_w(const char *what, const char *path, bool write)
{
    int err = errno;
    char hint[1024] = "";
    if (err == EACCES)
        devid_access_hint(path, write, hint, sizeof(hint));
    return devid_fail(err == ENOENT ? DEVID_ERR_NOT_FOUND : DEVID_ERR_IO, "%s %s: %s%s", what, path,
                      strerror(err), hint);
}

static devid_rc io_fail(const char *what, const char *path)
{
    return io_fail_w(what, path, false);
}

devid_rc devid__sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_fail("opening directory", dir);
    int r = timed_fsync(fd);
    close(fd);
    return r == 0 ? DEVID_OK : io_fail("syncing directory", dir);
}

devid_rc devid_ensure_dir(const char *dir, mode_t mode)
{
    if (mkdir(dir, mode & 0777) != 0)
        return errno == EEXIST ? DEVID_OK : io_fail_w("creating directory", dir, true);
    /* ours: the umask may have dropped group bits, and mkdir ignores setgid */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return io_fail("opening directory", dir);
    int r = fchmod(fd, mode);
    close(fd);
    return r == 0 ? DEVID_OK : io_fail("setting the mode of", dir);
}

int devid__open_or_create(const char *path, mode_t mode)
{
    static atomic_uint serial;
    for (int tries = 0; tries < 3; tries++) {
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            return fd;
        /* absent: made under a name of our own, given its mode, then linked into place, so that
         * no one ever opens it with the mode our umask left (the group refused meanwhile) */
        char tmp[4096];
        if (snprintf(tmp, sizeof(tmp), "%s.new.%ld.%u", path, (long)getpid(),
                     atomic_fetch_add(&serial, 1)) >= (int)sizeof(tmp)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        fd = open(tmp, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
            return -1;
        int r = fchmod(fd, mode);
        bool linked = r == 0 && link(tmp, path) == 0;
        int err = errno;
        unlink(tmp);
        if (linked)
            return fd; /* the same file as path now */
        close(fd);
        if (r != 0 || err != EEXIST) {
            errno = err;
            return -1;
        }
        /* another process made it first: open theirs */
    }
    errno = EAGAIN;
    return -1;
}

static devid_rc write_all(int fd, const void *data, size_t len, const char *path)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return io_fail("writing", path);
        p += n;
        len -= (size_t)n;
    }
    return DEVID_OK;
}

static devid_rc write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                                  bool sync_dir)
{
    char tmp[4096], dir[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp) ||
        snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
        return devid_fail(DEVID_ERR_ARG, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return io_fail_w("creating", tmp, true);
    devid_rc rc = write_all(fd, data, len, tmp);
    if (rc == DEVID_OK && fchmod(fd, mode) != 0)
        rc = io_fail("setting the mode of", tmp);
    if (rc == DEVID_OK && timed_fsync(fd) != 0)
        rc = io_fail("syncing", tmp);
    if (close(fd) != 0 && rc == DEVID_OK)
        rc = io_fail("closing", tmp);
    if (rc == DEVID_OK && rename(tmp, path) != 0)
        rc = io_fail("renaming to", path);
    if (rc != DEVID_OK) {
        unlink(tmp);
        return rc;
    }
    return sync_dir ? devid__sync_dir(dirname(dir)) : DEVID_OK;
}

devid_rc devid_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    return write_file_atomic(path, data, len, mode, true);
}

devid_rc devid_write_file_atomic_batched(const char *path, const void *data, size_t len,
                                         mode_t mode)
{
    return write_file_atomic(path, data, len, mode, false);
}

/* Reads the open regular file fd (at most max bytes) into a malloc'd, NUL-terminated buffer;
 * closes fd. */
static devid_rc read_fd(int fd, const struct stat *st, const char *path, size_t max,
                        unsigned char **data, size_t *len)
{
    if (!S_ISREG(st->st_mode) || (size_t)st->st_size > max) {
        close(fd);
        return devid_fail(DEVID_ERR_FORMAT, "%s: not a regular file of at most %zu bytes", path,
                          max);
    }
    unsigned char *buf = malloc((size_t)st->st_size + 1);
    if (!buf) {
        close(fd);
        return devid_fail(DEVID_ERR_MEMORY, "reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st->st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st->st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st->st_size) {
        free(buf);
        return devid_fail(DEVID_ERR_IO, "%s: short read", path);
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return DEVID_OK;
}

/* Opens path for reading and stats the open file (what is checked is what is read). */
static devid_rc open_stat(const char *path, int *fd, struct stat *st)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0)
        return io_fail("opening", path);
    if (fstat(*fd, st) != 0) {
        devid_rc rc = io_fail("reading", path);
        close(*fd);
        *fd = -1;
        return rc;
    }
    return DEVID_OK;
}

devid_rc devid_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    int fd;
    struct stat st;
    devid_rc rc = open_stat(path, &fd, &st);
    return rc == DEVID_OK ? read_fd(fd, &st, path, max, data, len) : rc;
}

/* Like ssh with its keys: a secret that others can read, or replace with one of theirs (group-
 * or world-writable, or owned by a user who could chmod it), is no secret. Checked on the open
 * file, so what is checked is what is read. */
devid_rc devid_read_secret_file(const char *path, const char *what, size_t max,
                                unsigned char **data, size_t *len)
{
    int fd;
    struct stat st;
    devid_rc rc = open_stat(path, &fd, &st);
    if (rc != DEVID_OK)
        return rc;
    const char *problem = st.st_mode & S_IWOTH   ? "writable by every user"
                          : st.st_mode & S_IROTH ? "readable by every user"
                          : st.st_mode & S_IWGRP ? "writable by its group"
                                                 : NULL;
    if (problem) {
        close(fd);
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s is %s and holds a secret: refused; chmod 600 %s "
                          "(or 640, for the members of its group to read it)",
                          what, problem, path);
    }
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        close(fd);
        return devid_fail(DEVID_ERR_CONFIG,
                          "%s is owned by uid %ld, neither root nor this user "
                          "(uid %ld), who could change its mode: refused; chown root %s (and "
                          "chmod 600 or 640)",
                          what, (long)st.st_uid, (long)geteuid(), path);
    }
    return read_fd(fd, &st, path, max, data, len);
}
