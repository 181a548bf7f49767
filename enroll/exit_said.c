/* SPDX-License-Identifier: Apache-2.0 */
/* The net under devid-enroll's error messages (exit_said.h). */
#include "exit_said.h"

#include "commands.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_ulong said;
static bool counting;

static ssize_t write_counted(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(STDERR_FILENO, buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return done ? (ssize_t)done : -1;
        done += (size_t)w;
    }
    atomic_fetch_add(&said, (unsigned long)n);
    return (ssize_t)n;
}

bool exit_said_start(void)
{
    if (counting)
        return true;
    FILE *f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = write_counted });
    if (!f)
        return false;
    if (setvbuf(f, NULL, _IONBF, 0) != 0) { /* as stderr: each line as it is written */
        fclose(f);
        return false;
    }
    stderr = f; /* (glibc's stderr is assignable; the original stays open on fd 2) */
    counting = true;
    return true;
}

unsigned long exit_said_bytes(void)
{
    return atomic_load(&said);
}

const char *exit_said_meaning(int code)
{
    switch (code) {
    case EXIT_HEALTHY:
        return "done";
    case EXIT_ATTENTION:
        return "an identity needs attention";
    case EXIT_USAGE:
        return "usage or configuration error";
    case EXIT_NO_TPM:
        return "the TPM could not be reached";
    case EXIT_FAILED:
        return "the operation failed";
    case EXIT_RETRY:
        return "the EST server was unavailable: try later";
    default:
        return "failed";
    }
}

bool exit_said_ensure(const char *cmd, int code, const char *last_error)
{
    if (code == EXIT_HEALTHY || !counting || exit_said_bytes() > 0)
        return false;
    fprintf(stderr, "devid-enroll %s: %s (exit %d)\n", cmd,
            last_error && last_error[0] ? last_error : exit_said_meaning(code), code);
    return true;
}
