/* SPDX-License-Identifier: Apache-2.0 */
/* The net under devid-enroll's error messages (enroll/exit_said.c): a command that returns
 * non-zero having said nothing on standard error gets a line saying why; one that said
 * something (through stderr, as every message of the process goes) gets nothing more. */
#include "devid_test.h"
#include "exit_said.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static bool said_line;

/* Runs exit_said_ensure with file descriptor 2 on a temporary file; returns what it wrote
 * there (the caller frees it). */
static char *ensure_captured(const char *cmd, int code, const char *last_error)
{
    FILE *tmp = tmpfile();
    int saved = dup(STDERR_FILENO);
    if (!tmp || saved < 0 || dup2(fileno(tmp), STDERR_FILENO) < 0)
        return NULL;
    said_line = exit_said_ensure(cmd, code, last_error);
    dup2(saved, STDERR_FILENO);
    close(saved);
    char *buf = calloc(1, 512);
    rewind(tmp);
    if (buf && fread(buf, 1, 511, tmp) == 0)
        buf[0] = '\0';
    fclose(tmp);
    return buf;
}

static void test_silent_failure_said(void)
{
    char *out = ensure_captured("renew", 1, "");
    CHECK(!said_line && out && !out[0], "said before counting started: '%s'", out);
    free(out);
    CHECK(exit_said_start(), "stderr could not be made counting");
    CHECK(exit_said_bytes() == 0, "%lu bytes counted before anything was said", exit_said_bytes());
    out = ensure_captured("renew", 0, "");
    CHECK(!said_line && out && !out[0], "an exit 0 got a line: '%s'", out);
    free(out);
    /* a path that returns 1 without a word: the meaning of its exit code */
    out = ensure_captured("renew", 1, "");
    CHECK(said_line && out &&
              strcmp(out, "devid-enroll renew: an identity needs attention "
                          "(exit 1)\n") == 0,
          "silent exit 1 said '%s'", out ? out : "(null)");
    free(out);
    CHECK(exit_said_bytes() > 0, "the net's own line was not counted");
}

static void test_said_once(void)
{
    /* once anything was said (here the line above), nothing more */
    char *out = ensure_captured("enroll", 4, "the EST server refused");
    CHECK(!said_line && out && !out[0], "said again: '%s'", out);
    free(out);
    unsigned long before = exit_said_bytes();
    fprintf(stderr, "(a message of a command)\n");
    CHECK(exit_said_bytes() == before + 25, "a message on stderr counted %lu bytes, not 25",
          exit_said_bytes() - before);
}

static void test_meanings(void)
{
    CHECK(strcmp(exit_said_meaning(5), "the EST server was unavailable: try later") == 0, "5");
    CHECK(strcmp(exit_said_meaning(3), "the TPM could not be reached") == 0, "3");
    CHECK(strcmp(exit_said_meaning(77), "failed") == 0, "unknown code");
}

int main(int argc, char **argv)
{
    devid_test(test_silent_failure_said, "/exit-said/silent-failure");
    devid_test_step(test_said_once, "/exit-said/said-once");
    devid_test(test_meanings, "/exit-said/meanings");
    return devid_test_run("enroll-exit-said", argc, argv);
}
