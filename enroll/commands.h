/* devid-enroll subcommands. Each returns a process exit code (see exit codes in main.c). */
#ifndef DEVID_ENROLL_COMMANDS_H
#define DEVID_ENROLL_COMMANDS_H

#include <stdbool.h>

/* Exit codes, documented in devid-enroll(1). */
enum {
    EXIT_HEALTHY = 0,       /* done; every identity present is valid */
    EXIT_ATTENTION = 1,     /* an identity needs attention (missing/mismatched/expired/untrusted) */
    EXIT_USAGE = 2,         /* bad command line or configuration */
    EXIT_NO_TPM = 3,        /* the TPM could not be reached */
    EXIT_FAILED = 4,        /* an operation failed */
};

typedef struct enroll_options {
    bool json;
} enroll_options;

int cmd_status(const enroll_options *opt, int argc, char **argv);

#endif
