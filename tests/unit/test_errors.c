/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of error naming and the tpm2-tss → devid error mapping. */
#include "devid_test.h"
#include "error.h"
#include "tpm.h"

#include <string.h>
#include <tss2/tss2_common.h>
#include <tss2/tss2_tpm2_types.h>

static void test_names(void)
{
    for (int rc = 0; rc < DEVID_RC_COUNT; rc++) {
        CHECK(strncmp(devid_rc_name(rc), "DEVID_", 6) == 0, "rc %d has a name", rc);
        CHECK(devid_rc_text(rc)[0] != '\0', "rc %d has a text", rc);
    }
    CHECK(strcmp(devid_rc_name(DEVID_RC_COUNT + 3), "DEVID_ERR_UNKNOWN") == 0, "out of range");
}

static void test_tpm_rc_map(void)
{
    static const struct {
        TSS2_RC tss;
        devid_rc want;
    } map[] = {
        { TSS2_RC_SUCCESS, DEVID_OK },
        { TPM2_RC_AUTH_FAIL | TPM2_RC_S | TPM2_RC_1, DEVID_ERR_AUTH },
        { TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_1, DEVID_ERR_AUTH },
        { TPM2_RC_LOCKOUT, DEVID_ERR_LOCKOUT },
        { TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_LOCKOUT, DEVID_ERR_LOCKOUT },
        { TPM2_RC_RETRY, DEVID_ERR_RETRY },
        { TPM2_RC_TESTING, DEVID_ERR_RETRY },
        { TPM2_RC_YIELDED, DEVID_ERR_RETRY },
        { TPM2_RC_HANDLE | TPM2_RC_H | TPM2_RC_1, DEVID_ERR_NOT_FOUND },
        { TPM2_RC_SCHEME | TPM2_RC_P | TPM2_RC_2, DEVID_ERR_UNSUPPORTED },
        { TPM2_RC_KEY | TPM2_RC_H | TPM2_RC_1, DEVID_ERR_KEY_USAGE },
        { TPM2_RC_ATTRIBUTES | TPM2_RC_H | TPM2_RC_1, DEVID_ERR_KEY_USAGE },
        { TPM2_RC_SIZE | TPM2_RC_P | TPM2_RC_1, DEVID_ERR_ARG },
        { TPM2_RC_COMMAND_CODE, DEVID_ERR_UNSUPPORTED },
        { TPM2_RC_FAILURE, DEVID_ERR_TPM },
        { TSS2_TCTI_RC_IO_ERROR, DEVID_ERR_NO_TPM },
        { TSS2_TCTI_RC_NO_CONNECTION, DEVID_ERR_NO_TPM },
        { TSS2_ESYS_RC_MALFORMED_RESPONSE, DEVID_ERR_NO_TPM },
        { TSS2_ESYS_RC_BAD_SEQUENCE, DEVID_ERR_NO_TPM },
        { TSS2_ESYS_RC_TRY_AGAIN, DEVID_ERR_RETRY },
        { TSS2_ESYS_RC_MEMORY, DEVID_ERR_MEMORY },
        { TSS2_ESYS_RC_BAD_VALUE, DEVID_ERR_TPM },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        devid_rc got = devid_tpm_rc_map(map[i].tss, "unit");
        CHECK(got == map[i].want, "0x%x -> %s, want %s", map[i].tss, devid_rc_name(got),
              devid_rc_name(map[i].want));
        if (map[i].tss)
            CHECK(strstr(devid_last_error(), "unit: ") == devid_last_error(),
                  "detail names the operation: %s", devid_last_error());
    }
}

static void test_wrapped_detail(void)
{
    /* Wrapping the previous detail (callers pass devid_last_error() as an argument): the
     * detail must survive (regression: it came out as "path: path: "). */
    devid_fail(DEVID_ERR_FORMAT, "not a TSS2 key: %s", "truncated");
    devid_fail(DEVID_ERR_FORMAT, "%s: %s", "/store/x.key", devid_last_error());
    CHECK(strcmp(devid_last_error(), "/store/x.key: not a TSS2 key: truncated") == 0,
          "wrapped detail: '%s'", devid_last_error());
}

static void test_retry_policy(void)
{
    /* The retry policy: only DEVID_ERR_RETRY, at most DEVID_TPM_RETRIES times, then the
     * message says the TPM stayed busy and keeps the TPM's own detail. */
    unsigned retries = 0;
    CHECK(!devid_tpm_retry_wait(DEVID_ERR_LOCKOUT, &retries) && retries == 0,
          "no retry on lockout");
    CHECK(!devid_tpm_retry_wait(DEVID_ERR_AUTH, &retries) && retries == 0, "no retry on auth");
    devid_tpm_rc_map(TPM2_RC_RETRY, "unit sign");
    unsigned n = 0;
    while (devid_tpm_retry_wait(DEVID_ERR_RETRY, &retries))
        n++;
    CHECK(n == DEVID_TPM_RETRIES && retries == DEVID_TPM_RETRIES, "%u retries", n);
    CHECK(strstr(devid_last_error(), "still busy after 6 retries over 630 ms: unit sign: ") != NULL,
          "give-up message: '%s'", devid_last_error());
}

int main(int argc, char **argv)
{
    devid_test(test_names, "/errors/names");
    devid_test(test_tpm_rc_map, "/errors/tpm-rc-map");
    devid_test(test_wrapped_detail, "/errors/wrapped-detail");
    devid_test(test_retry_policy, "/errors/retry-policy");
    return devid_test_run("test_errors", argc, argv);
}
