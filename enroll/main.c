/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll: obtains, renews and reports the device's identity certificates. This file:
 * the command line (global options before or after the command, --version, COMMAND --help)
 * and the dispatch. */
#include "commands.h"
#include "exit_said.h"
#include "json.h"
#include "tpmkey.h"

#include "devid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(const enroll_options *opt, int argc, char **argv);
    bool json;         /* has a --json form */
    bool verdict;      /* its exit code is its answer, its output says why (status) */
    const char *help;  /* one line */
    const char *usage; /* its arguments and options */
} commands[] = {
    { "status", cmd_status, true, true,
      "show the device's identities (EK, IDevID, IAK, LDevID) and their health", "" },
    { "cacerts", cmd_cacerts, true, false, "fetch the EST CA certificates",
      "[--fingerprint SHA256] [--out FILE]\n"
      "  --fingerprint SHA256  trust the CA certificate with this fingerprint (bootstrap)\n"
      "  --out FILE            write the certificates there (default: standard output)\n" },
    { "idevid", cmd_idevid, true, false, "factory: create and enroll the IDevID",
      "--subject DN [--rsa] [--out CHAIN]\n"
      "  --subject DN   RFC 4514 (\"O=Maker\\, Inc,CN=X200,serialNumber=7\"; RDNs in the order\n"
      "                 they are encoded, as openssl req -subj) or \"/O=Maker/CN=X200\"\n"
      "  --rsa          RSA 2048 instead of EC P-256\n"
      "  --out CHAIN    also write the certificate and its CA chain there\n" },
    { "ldevid", cmd_ldevid, true, false,
      "owner: create and enroll the LDevID, authenticated by the IDevID",
      "[--subject DN] [--rsa]\n"
      "  --subject DN   as for idevid (default: the IDevID's subject)\n"
      "  --rsa          RSA 2048 instead of EC P-256\n" },
    { "enroll", cmd_enroll, true, false,
      "enroll a service identity NAME, authenticated by the LDevID",
      "NAME [--subject DN] [--rsa]\n"
      "  --subject DN   as for idevid (default: the LDevID's subject with CN=NAME)\n"
      "  --rsa          RSA 2048 instead of EC P-256\n" },
    { "renew", cmd_renew, true, false, "renew what is due",
      "[NAME...] [--rekey] [--force]\n"
      "  NAME...        only these identities (LDevID or service identities)\n"
      "  --rekey        with a new key\n  --force        even if not due\n" },
    { "run", cmd_run, false, false, "renew as a daemon",
      "[--rekey] [--interval SECONDS]\n"
      "  --interval S   the longest wait between renewal passes (3600)\n"
      "  (no --json: a daemon never ends with one result; its lines are a log, and\n"
      "   devid-enroll --json renew gives one pass as JSON)\n" },
    { "retire", cmd_retire, true, false,
      "remove the LDevID and all service identities (never the IDevID)",
      "[--yes]\n  --yes          do not ask (needed when standard input is not a terminal)\n" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char global_help[] =
    "\noptions (before or after the command):\n"
    "  --json          one JSON document on standard output, errors included; human\n"
    "                  lines go to standard error (every command but run)\n"
    "  --server URL    EST server (est.server)\n"
    "  --trust FILE    EST trust anchors (est.trust_anchor)\n"
    "  --ca-label L    EST CA label (est.ca_label)\n"
    "  --help, -h      help (COMMAND --help: that command's)\n"
    "  --version       devid-enroll's version\n";

static void usage(FILE *out)
{
    fprintf(out, "usage: devid-enroll [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fputs(global_help, out);
    fprintf(out, "\nexit codes: 0 done/healthy, 1 an identity needs attention, 2 usage or "
                 "configuration error,\n            3 TPM not reachable, 4 operation failed or "
                 "authentication refused,\n            5 EST server unavailable (try later)\n");
}

static void command_usage(size_t c)
{
    const char *u = commands[c].usage;
    const char *nl = strchr(u, '\n');
    printf("usage: devid-enroll [OPTIONS] %s %.*s\n\n%s\n", commands[c].name,
           nl ? (int)(nl - u) : (int)strlen(u), u, commands[c].help);
    if (nl && nl[1])
        printf("\n%s", nl + 1);
    fputs(global_help, stdout);
}

/* A usage error; with --json also as JSON on standard output (a caller parsing it gets an
 * answer either way): {"command":..., "ok":false, "exit_code":2, "error":...}. */
__attribute__((format(printf, 3, 4))) static int usage_error(bool json, const char *cmd,
                                                             const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    fprintf(stderr, "devid-enroll: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (json) {
        char msg[512];
        vsnprintf(msg, sizeof(msg), fmt, again);
        json_print_error(cmd, EXIT_USAGE, msg);
    }
    va_end(again);
    return EXIT_USAGE;
}

/* Takes the global options out of argv (anywhere before "--"), leaving the command and its
 * own arguments in order. Returns -1 to go on, else an exit code. */
static int take_global_options(enroll_options *opt, int *argc, char **argv, bool *help,
                               bool *version)
{
    int out = 1;
    bool rest = false;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **value = NULL;
        if (rest || strcmp(a, "--") == 0) {
            rest = true;
            argv[out++] = argv[i];
            continue;
        }
        if (strcmp(a, "--server") == 0)
            value = &opt->server;
        else if (strcmp(a, "--trust") == 0)
            value = &opt->trust;
        else if (strcmp(a, "--ca-label") == 0)
            value = &opt->ca_label;
        if (value) {
            if (i + 1 >= *argc)
                return usage_error(opt->json, NULL, "%s needs a value", a);
            *value = argv[++i];
        } else if (strncmp(a, "--server=", 9) == 0) {
            opt->server = a + 9;
        } else if (strncmp(a, "--trust=", 8) == 0) {
            opt->trust = a + 8;
        } else if (strncmp(a, "--ca-label=", 11) == 0) {
            opt->ca_label = a + 11;
        } else if (strcmp(a, "--json") == 0) {
            opt->json = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            *help = true;
        } else if (strcmp(a, "--version") == 0) {
            *version = true;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    argv[out] = NULL;
    return -1;
}

int main(int argc, char **argv)
{
    enroll_options opt = { 0 };
    bool help = false, version = false;
    exit_said_start(); /* (if it cannot count, the commands' own messages are all there is) */
    int ec = take_global_options(&opt, &argc, argv, &help, &version);
    if (ec >= 0)
        return ec;
    if (version) {
        printf("devid-enroll %s\n", DEVID_ENROLL_VERSION);
        return EXIT_HEALTHY;
    }
    if (argc < 2 || argv[1][0] == '-') {
        if (help) {
            usage(stdout);
            return EXIT_HEALTHY;
        }
        if (argc >= 2)
            return usage_error(opt.json, NULL, "unknown option '%s' (see devid-enroll --help)",
                               argv[1]);
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < N_COMMANDS; c++) {
        if (strcmp(argv[1], commands[c].name) != 0)
            continue;
        if (help) {
            command_usage(c);
            return EXIT_HEALTHY;
        }
        if (opt.json && !commands[c].json)
            return usage_error(true, commands[c].name,
                               "--json: %s has no machine-readable "
                               "output (a daemon's lines are a log; --json renew is one pass)",
                               commands[c].name);
        if (opt.json && !json_take_stdout()) {
            fprintf(stderr, "devid-enroll: --json: standard output: %s\n", strerror(errno));
            return EXIT_FAILED;
        }
        if (devid_core_init() != DEVID_OK) {
            fprintf(stderr, "devid-enroll: %s\n", devid_last_error());
            if (opt.json)
                json_print_error(commands[c].name, EXIT_USAGE, devid_last_error());
            return EXIT_USAGE;
        }
        devid_token_use_configured_pin(); /* PINs set: the user PIN from pin_file */
        devid_clear_error();
        int rc = commands[c].run(&opt, argc - 2, argv + 2);
        if (!commands[c].verdict)
            exit_said_ensure(commands[c].name, rc, devid_last_error());
        if (opt.json && !json_document_written) { /* --json always gives JSON */
            if (rc != EXIT_HEALTHY) {
                json_print_error(commands[c].name, rc, devid_last_error());
            } else {
                json_writer w;
                json_begin_command(&w, commands[c].name);
                json_end_command(&w, rc);
            }
        }
        enroll_providers_unload();
        devid_core_fini();
        return rc;
    }
    return usage_error(opt.json, NULL, "unknown command '%s' (see devid-enroll --help)", argv[1]);
}
