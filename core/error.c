/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
} rc_table[DEVID_RC_COUNT] = {
    [DEVID_OK] = { "DEVID_OK", "success" },
    [DEVID_ERR_NO_TPM] = { "DEVID_ERR_NO_TPM", "no TPM reachable" },
    [DEVID_ERR_TPM] = { "DEVID_ERR_TPM", "TPM error" },
    [DEVID_ERR_RETRY] = { "DEVID_ERR_RETRY", "TPM busy, try again" },
    [DEVID_ERR_NOT_FOUND] = { "DEVID_ERR_NOT_FOUND", "not found" },
    [DEVID_ERR_ARG] = { "DEVID_ERR_ARG", "invalid argument" },
    [DEVID_ERR_CONFIG] = { "DEVID_ERR_CONFIG", "invalid configuration" },
    [DEVID_ERR_AUTH] = { "DEVID_ERR_AUTH", "authorization failed" },
    [DEVID_ERR_LOCKOUT] = { "DEVID_ERR_LOCKOUT", "TPM dictionary-attack lockout" },
    [DEVID_ERR_UNSUPPORTED] = { "DEVID_ERR_UNSUPPORTED", "not supported" },
    [DEVID_ERR_KEY_USAGE] = { "DEVID_ERR_KEY_USAGE", "key usage not permitted" },
    [DEVID_ERR_BUFFER] = { "DEVID_ERR_BUFFER", "buffer too small" },
    [DEVID_ERR_MEMORY] = { "DEVID_ERR_MEMORY", "out of memory" },
    [DEVID_ERR_IO] = { "DEVID_ERR_IO", "I/O error" },
    [DEVID_ERR_FORMAT] = { "DEVID_ERR_FORMAT", "malformed data" },
    [DEVID_ERR_PROHIBITED] = { "DEVID_ERR_PROHIBITED", "object is read-only" },
    [DEVID_ERR_INTERNAL] = { "DEVID_ERR_INTERNAL", "internal error" },
};

static _Thread_local char last_error[512];

const char *devid_rc_name(devid_rc rc)
{
    if ((unsigned)rc >= DEVID_RC_COUNT)
        return "DEVID_ERR_UNKNOWN";
    return rc_table[rc].name;
}

const char *devid_rc_text(devid_rc rc)
{
    if ((unsigned)rc >= DEVID_RC_COUNT)
        return "unknown error";
    return rc_table[rc].text;
}

const char *devid_last_error(void)
{
    return last_error;
}

void devid_clear_error(void)
{
    last_error[0] = '\0';
}

devid_rc devid__failv(devid_rc rc, const char *fmt, va_list ap)
{
    /* Formatted aside first: callers wrap the previous detail, passing devid_last_error()
     * as an argument, and vsnprintf into the buffer it reads from is undefined (it came out
     * as "path: path: " with the detail lost). */
    char msg[sizeof(last_error)];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    memcpy(last_error, msg, sizeof(msg));
    devid_log(DEVID_LOG_DEBUG, "%s: %s", devid_rc_name(rc), last_error);
    return rc;
}

devid_rc devid_fail(devid_rc rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    devid__failv(rc, fmt, ap);
    va_end(ap);
    return rc;
}
