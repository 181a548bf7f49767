/* SPDX-License-Identifier: Apache-2.0 */
/* The options of the service-identity commands (enroll, renew, run). */
#include "service.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int service_parse_args(const char *cmd, int *argc, char ***argv, service_args *a)
{
    static const struct option longopts[] = {
        { "rsa", no_argument, NULL, 'r' },
        { "rekey", no_argument, NULL, 'k' },
        { "force", no_argument, NULL, 'f' },
        { "subject", required_argument, NULL, 's' },
        { "interval", required_argument, NULL, 'i' },
        { NULL, 0, NULL, 0 },
    };
    memset(a, 0, sizeof(*a));
    a->interval = 3600;
    optind = 0;
    int c;
    while ((c = getopt_long(*argc + 1, *argv - 1, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->rsa = true;
            break;
        case 'k':
            a->rekey = true;
            break;
        case 'f':
            a->force = true;
            break;
        case 's':
            a->subject = optarg;
            break;
        case 'i':
            a->interval = strtol(optarg, NULL, 10);
            break;
        default:
            return usage_failed(cmd, "bad option (see devid-enroll %s --help)", cmd);
        }
    }
    *argv += optind - 1;
    *argc -= optind - 1;
    if (a->interval < 1) {
        return usage_failed(cmd, "--interval must be a positive number of seconds");
    }
    return EXIT_HEALTHY;
}
