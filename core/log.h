/* SPDX-License-Identifier: Apache-2.0 */
/* devid logging: silent by default.
 *
 * The level comes from DEVID_LOG (error|warn|info|debug|none), else from the config's `log`
 * key, else none. Messages go to stderr prefixed "devid: LEVEL:"; a daemon can route them to
 * syslog with devid_log_use_syslog(). Callers never pass secrets (PINs, auth values,
 * passwords, header secrets): there is no redaction layer, the rule is not to log them.
 */
#ifndef DEVID_LOG_H
#define DEVID_LOG_H

#include <stdbool.h>

typedef enum devid_log_level {
    DEVID_LOG_NONE = 0,
    DEVID_LOG_ERROR,
    DEVID_LOG_WARN,
    DEVID_LOG_INFO,
    DEVID_LOG_DEBUG,
} devid_log_level;

/* Core-internal (not exported): core sets the level from the configuration at init.
 * Parses "none|error|warn|info|debug"; false if the name is unknown. */
bool devid__log_level_parse(const char *name, devid_log_level *out);
void devid__log_set_level(devid_log_level level);
devid_log_level devid__log_get_level(void);

/* Logs to syslog under ident instead of stderr (devid-enroll as a service). */
void devid_log_use_syslog(const char *ident);

/* Says why devid cannot work at all in this process (a bad config, no TPM access), once per
 * process, whatever the log level: to syslog (LOG_WARNING, the host program's ident) and, when
 * the level is warn or more and syslog is not the log's place, to stderr. Later calls are
 * dropped: a module that cannot work must not flood the log on every call. */
void devid_log_unusable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void devid_log(devid_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define devid_err(...) devid_log(DEVID_LOG_ERROR, __VA_ARGS__)
#define devid_warn(...) devid_log(DEVID_LOG_WARN, __VA_ARGS__)
#define devid_info(...) devid_log(DEVID_LOG_INFO, __VA_ARGS__)
#define devid_debug(...) devid_log(DEVID_LOG_DEBUG, __VA_ARGS__)

#endif
