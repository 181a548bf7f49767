/* SPDX-License-Identifier: Apache-2.0 */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static devid_rc io_fail(const char *what, const char *path)
{
    int err = errno;
    return devid_fail(err == ENOENT ? DEVID_ERR_NOT_FOUND : DEVID_ERR_IO, "%s %s: %s", what, path,
                      strerror(err));
}

devid_rc devid__sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_fail("opening directory", dir);
    int r = fsync(fd);
    close(fd);
    return r == 0 ? DEVID_OK : io_fail("syncing directory", dir);
}

devid_rc devid_ensure_dir(const char *dir, mode_t mode)
{
    if (mkdir(dir, mode & 0777) != 0)
        return errno == EEXIST ? DEVID_OK : io_fail("creating directory", dir);
    /* ours: the umask may have dropped group bits, and mkdir ignores setgid */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return io_fail("opening directory", dir);
    int r = fchmod(fd, mode);
    close(fd);
    return r == 0 ? DEVID_OK : io_fail("setting the mode of", dir);
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
        return io_fail("creating", tmp);
    devid_rc rc = write_all(fd, data, len, tmp);
    if (rc == DEVID_OK && fchmod(fd, mode) != 0)
        rc = io_fail("setting the mode of", tmp);
    if (rc == DEVID_OK && fsync(fd) != 0)
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

devid_rc devid_read_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_fail("opening", path);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        close(fd);
        return devid_fail(DEVID_ERR_FORMAT, "%s: not a regular file of at most %zu bytes", path,
                          max);
    }
    unsigned char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return devid_fail(DEVID_ERR_MEMORY, "reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (got != (size_t)st.st_size) {
        free(buf);
        return devid_fail(DEVID_ERR_IO, "%s: short read", path);
    }
    buf[got] = '\0';
    *data = buf;
    *len = got;
    return DEVID_OK;
}
