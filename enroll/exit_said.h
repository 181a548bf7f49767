/* SPDX-License-Identifier: Apache-2.0 */
/* Every non-zero exit of devid-enroll says why on standard error. Each command path says
 * its own reason; this is the net under them: main counts what is written on standard
 * error, and a command that returns non-zero having said nothing (a path that lost its
 * message) still gets a line with the last error or what its exit code means. */
#ifndef DEVID_ENROLL_EXIT_SAID_H
#define DEVID_ENROLL_EXIT_SAID_H

#include <stdbool.h>

/* stderr becomes an unbuffered stream onto file descriptor 2 that counts the bytes written
 * through it (everything in the process that writes to stderr: ours, OpenSSL's, the TSS's).
 * false (stderr unchanged) if it cannot be set up. */
bool exit_said_start(void);

/* The bytes written on stderr since exit_said_start. */
unsigned long exit_said_bytes(void);

/* What exit code `code` means (devid-enroll --help). */
const char *exit_said_meaning(int code);

/* If `code` is not 0 and nothing was said on stderr since exit_said_start: says
 * "devid-enroll CMD: WHY (exit CODE)", WHY being `last_error` or, if empty, the code's
 * meaning. Returns whether it said it. */
bool exit_said_ensure(const char *cmd, int code, const char *last_error);

#endif
