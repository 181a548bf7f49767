/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll subcommands. Each returns a process exit code. */
#ifndef DEVID_ENROLL_COMMANDS_H
#define DEVID_ENROLL_COMMANDS_H

#include <stdbool.h>

/* Exit codes, documented in devid-enroll(1). */
enum {
    EXIT_HEALTHY = 0,   /* done; every identity present is valid */
    EXIT_ATTENTION = 1, /* an identity needs attention (missing/mismatched/expired/untrusted) */
    EXIT_USAGE = 2,     /* bad command line or configuration */
    EXIT_NO_TPM = 3,    /* the TPM could not be reached */
    EXIT_FAILED = 4,    /* an operation failed (nothing was changed) */
    EXIT_RETRY = 5,     /* the EST server was unavailable or kept us waiting: try later */
};

/* Global options (before the command). */
typedef struct enroll_options {
    bool json;
    const char *server;   /* overrides est.server */
    const char *trust;    /* overrides est.trust_anchor */
    const char *ca_label; /* overrides est.ca_label */
} enroll_options;

int cmd_status(const enroll_options *opt, int argc, char **argv);
int cmd_cacerts(const enroll_options *opt, int argc, char **argv);
int cmd_idevid(const enroll_options *opt, int argc, char **argv);
int cmd_ldevid(const enroll_options *opt, int argc, char **argv);
int cmd_enroll(const enroll_options *opt, int argc, char **argv);
int cmd_renew(const enroll_options *opt, int argc, char **argv);
int cmd_run(const enroll_options *opt, int argc, char **argv);
int cmd_retire(const enroll_options *opt, int argc, char **argv);

/* The exit code for a failed devid_rc (after printing devid_last_error()). */
int exit_code_for(int devid_rc_value);

/* Reports a failed command: prints "devid-enroll CMD: <devid_last_error()>" to stderr and
 * returns exit_code_for(devid_rc_value). */
int command_failed(const char *cmd, int devid_rc_value);

/* A usage error of command `cmd`: says "devid-enroll CMD: <message>" on stderr, keeps the
 * message as devid_last_error() (so --json reports it) and returns EXIT_USAGE. */
int usage_failed(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
