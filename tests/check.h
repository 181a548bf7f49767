/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal test harness: CHECK counts, the summary line is the plain "N passed, N failed"
 * that CI reads, and the exit code is non-zero on any failure. */
#ifndef DEVID_TEST_CHECK_H
#define DEVID_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#ifdef CHECK_COUNTERS_EXTERN /* a test program in several files: one of them defines these */
extern int check_passed, check_failed;
#else
static int check_passed, check_failed;
#endif

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (cond) {                                                             \
            check_passed++;                                                     \
        } else {                                                                \
            check_failed++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

#define CHECK_RC(expr, want)                                                    \
    do {                                                                        \
        devid_rc rc_ = (expr);                                                  \
        CHECK(rc_ == (want), "%s returned %s (%s), expected %s", #expr,         \
              devid_rc_name(rc_), devid_last_error(), devid_rc_name(want));     \
    } while (0)

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
