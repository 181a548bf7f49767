/* SPDX-License-Identifier: Apache-2.0 */
/* The three ways a TPM device fails to open, each said differently and with its fix
 * (core/tpm_diag.h). "Busy" needs a /dev/tpm0 held by another process, which no test machine
 * has: the classification is checked here; missing and not permitted also end to end
 * (tests/field/loud.sh). */
#include "devid_test.h"
#include "tpm_diag.h"

#include <errno.h>
#include <string.h>

/* Each errno of opening the device gets its own message, with the fix. */
static void test_device_problems(void)
{
    static const struct {
        int err;
        const char *needle;
    } cases[] = {
        { ENOENT, "/dev/tpm0 does not exist" }, { EACCES, "add the user to group tss" },
        { EPERM, "add the user to group tss" }, { EBUSY, "another process has it open" },
        { EIO, "cannot open /dev/tpm0" },
    };
    char seen[5][512];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        devid_tpm_device_problem("/dev/tpm0", cases[i].err, seen[i], sizeof(seen[i]));
        CHECK(strstr(seen[i], cases[i].needle) != NULL, "errno %d: '%s' lacks '%s'", cases[i].err,
              seen[i], cases[i].needle);
    }
    CHECK(strcmp(seen[0], seen[1]) && strcmp(seen[1], seen[3]) && strcmp(seen[0], seen[3]),
          "missing, not permitted and busy are three messages");
    CHECK(strstr(seen[3], "/dev/tpmrm0") != NULL, "busy: the fix names the resource manager");
}

int main(int argc, char **argv)
{
    devid_test(test_device_problems, "/tpm-diag/device-problems");
    return devid_test_run("tpm-diag", argc, argv);
}
