/* SPDX-License-Identifier: Apache-2.0 */
/* Counting and timing the TPM commands this process sends (tpm.h: DEVID_ESYS, DEVID_ESYS_RAW,
 * DEVID_ESYS_FINISH call these around every ESAPI call that sends one). Kept apart from the
 * connection in tpm.c: atomics and per-thread clocks, no lock, nothing about the TPM itself;
 * the numbers are for tests, benchmarks and devid-enroll's timing line. */
#include "core.h"
#include "log.h"
#include "tpm.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

static atomic_uint_fast64_t command_count;
static atomic_uint_fast64_t command_ns; /* wall time inside the ESAPI calls that send them */
static _Thread_local struct timespec command_start;

uint64_t devid_tpm_command_count(void)
{
    return atomic_load(&command_count);
}

uint64_t devid_tpm_command_ns(void)
{
    return atomic_load(&command_ns);
}

void devid_tpm_count_command(const char *esys_fn)
{
    uint64_t n = atomic_fetch_add(&command_count, 1) + 1;
    devid_debug("TPM command %llu: %s", (unsigned long long)n, esys_fn);
    devid_tpm_command_resumed();
}

void devid_tpm_command_resumed(void)
{
    clock_gettime(CLOCK_MONOTONIC, &command_start);
}

TSS2_RC devid_tpm_command_done(TSS2_RC rc)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns = (int64_t)(now.tv_sec - command_start.tv_sec) * 1000000000 +
                 (now.tv_nsec - command_start.tv_nsec);
    if (ns > 0)
        atomic_fetch_add(&command_ns, (uint64_t)ns);
    return rc;
}
