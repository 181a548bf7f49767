/* SPDX-License-Identifier: Apache-2.0 */
/* The one translation of core results into devid-enroll's exit codes (commands.h). */
#include "commands.h"

#include "devid.h"

#include <stdarg.h>
#include <stdio.h>

int exit_code_for(int rc)
{
    switch ((devid_rc)rc) {
    case DEVID_OK:
        return EXIT_HEALTHY;
    case DEVID_ERR_NO_TPM:
        return EXIT_NO_TPM;
    case DEVID_ERR_CONFIG:
    case DEVID_ERR_ARG:
        return EXIT_USAGE;
    case DEVID_ERR_RETRY:
        return EXIT_RETRY;
    default:
        return EXIT_FAILED;
    }
}

int command_failed(const char *cmd, int rc)
{
    fprintf(stderr, "devid-enroll %s: %s\n", cmd, devid_last_error());
    return exit_code_for(rc);
}

int usage_failed(const char *cmd, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    devid_fail(DEVID_ERR_ARG, "%s", msg);
    fprintf(stderr, "devid-enroll %s: %s\n", cmd, msg);
    return EXIT_USAGE;
}
