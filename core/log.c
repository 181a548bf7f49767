/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static atomic_int current_level = DEVID_LOG_NONE;
static atomic_bool to_syslog = false;

static const char *const level_names[] = {
    [DEVID_LOG_NONE] = "none", [DEVID_LOG_ERROR] = "error", [DEVID_LOG_WARN] = "warn",
    [DEVID_LOG_INFO] = "info", [DEVID_LOG_DEBUG] = "debug",
};

bool devid__log_level_parse(const char *name, devid_log_level *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (devid_log_level)i;
            return true;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *out = DEVID_LOG_WARN;
        return true;
    }
    return false;
}

void devid__log_set_level(devid_log_level level)
{
    atomic_store(&current_level, level);
}

devid_log_level devid__log_get_level(void)
{
    return (devid_log_level)atomic_load(&current_level);
}

void devid_log_use_syslog(const char *ident)
{
    openlog(ident, LOG_PID, LOG_DAEMON);
    atomic_store(&to_syslog, true);
}

void devid_log_unusable(const char *fmt, ...)
{
    static atomic_bool said;
    if (atomic_exchange(&said, true))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    syslog(LOG_USER | LOG_WARNING, "devid: %s", msg);
    if (!atomic_load(&to_syslog) && atomic_load(&current_level) >= DEVID_LOG_WARN)
        fprintf(stderr, "devid: warn: %s\n", msg);
}

void devid_log(devid_log_level level, const char *fmt, ...)
{
    if (level == DEVID_LOG_NONE || (int)level > atomic_load(&current_level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (atomic_load(&to_syslog)) {
        static const int prio[] = { LOG_ERR, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
        syslog(prio[level], "%s", msg);
    } else {
        fprintf(stderr, "devid: %s: %s\n", level_names[level], msg);
    }
}
