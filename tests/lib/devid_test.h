/* SPDX-License-Identifier: Apache-2.0 */
/* devid's C test library: named test cases that can run alone.
 *
 * A test program's main() registers its cases and hands over to the runner:
 *
 *     int main(int argc, char **argv)
 *     {
 *         devid_test_fixture(connect_tpm, disconnect_tpm);   // optional, see below
 *         devid_test(test_sign, "/core/sign");
 *         devid_testx(test_key, &ecc_params, "/core/key/ecc"); // with a data pointer
 *         return devid_test_run("test_core", argc, argv);
 *     }
 *
 * The runner runs the cases in registration order and prints one TAP-style line per case,
 * "ok N /path" or "not ok N /path", then the summary "NAME: N passed, N failed" (counts of
 * CHECKs); the exit code is non-zero if any CHECK failed. Options:
 *     -p PATH  run only the case PATH, or every case under PATH if it ends in '/'
 *              (repeatable); a PATH that matches no case is an error (exit 2)
 *     -l       list the case paths and run nothing
 * Every other argument is the program's own: devid_test_arg(argc, argv, n) returns the n-th.
 *
 * Cases must not depend on one another, so that any of them can run alone. What several
 * cases share and is expensive (a TPM connection, a loaded module) belongs in the fixture:
 * its setup runs once, before the first selected case, and its teardown after the last.
 * A setup that returns non-zero fails the run before any case ("Bail out!").
 * A story that cannot be cut (a token's PINs set, then changed, then locked out) is
 * registered as steps: devid_test_step() registers a case that continues from the case
 * registered just before it, and selecting a step with -p runs the steps before it first
 * (each reported with its own line). Use steps only where the state is the point.
 *
 * CHECK(cond, fmt, ...) counts a check and prints "FAIL file:line: cond: message" on stderr
 * when cond is false; the case it runs in is then "not ok". CHECK_RC compares a devid_rc
 * (the program includes devid.h). */
#ifndef DEVID_TEST_H
#define DEVID_TEST_H

#include <stdio.h>
#include <stdlib.h>

extern int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        devid_rc rc_ = (expr);                                                                     \
        CHECK(rc_ == (want), "%s returned %s (%s), expected %s", #expr, devid_rc_name(rc_),        \
              devid_last_error(), devid_rc_name(want));                                            \
    } while (0)

/* Registers a case; path is "/suite/case" and must stay valid (a string literal). */
void devid_test(void (*fn)(void), const char *path);
/* A case that continues from the one registered before it (see above). */
void devid_test_step(void (*fn)(void), const char *path);
/* The same with a data pointer handed to fn, for one function run on several inputs. */
void devid_testx(void (*fn)(const void *data), const void *data, const char *path);
/* The program's shared setup (0 = ready) and teardown (may be NULL); at most one pair. */
void devid_test_fixture(int (*setup)(void), void (*teardown)(void));
/* The n-th argument that is not a runner option (n from 0), or NULL. */
const char *devid_test_arg(int argc, char **argv, int n);
/* Runs the selected cases; returns the exit status for main(). */
int devid_test_run(const char *name, int argc, char **argv);
/* The summary line alone, for a program that ends without the runner (a forked child). */
int check_summary(const char *name);

#endif
