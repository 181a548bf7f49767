/* devid-enroll: obtains, renews and reports the device's identity certificates. */
#include "commands.h"
#include "json.h"
#include "tpmkey.h"

#include "devid.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(const enroll_options *opt, int argc, char **argv);
    const char *help;
} commands[] = {
    { "status", cmd_status, "show the device's identities (EK, IDevID, IAK, LDevID) and their health" },
    { "cacerts", cmd_cacerts, "fetch the EST CA certificates [--fingerprint SHA256] [--out FILE]" },
    { "idevid", cmd_idevid, "factory: create and enroll the IDevID --subject DN [--rsa] [--out CHAIN]" },
    { "ldevid", cmd_ldevid, "owner: create and enroll the LDevID, authenticated by the IDevID [--subject DN] [--rsa]" },
    { "enroll", cmd_enroll, "enroll a service identity NAME, authenticated by the LDevID [--subject DN] [--rsa]" },
    { "renew", cmd_renew, "renew what is due [NAME...] [--rekey] [--force]" },
    { "run", cmd_run, "renew as a daemon [--rekey] [--interval SECONDS]" },
    { "retire", cmd_retire, "remove the LDevID and all service identities (never the IDevID)" },
};

static void usage(FILE *out)
{
    fprintf(out, "usage: devid-enroll [--json] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\noptions:\n  --json          machine-readable output (status)\n"
                 "  --server URL    EST server (est.server)\n"
                 "  --trust FILE    EST trust anchors (est.trust_anchor)\n"
                 "  --ca-label L    EST CA label (est.ca_label)\n  --help          this text\n"
                 "\nexit codes: 0 done/healthy, 1 an identity needs attention, 2 usage or "
                 "configuration error,\n            3 TPM not reachable, 4 operation failed or "
                 "authentication refused,\n            5 EST server unavailable (try later)\n");
}

int main(int argc, char **argv)
{
    enroll_options opt = { 0 };
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char **value = strcmp(argv[i], "--server") == 0     ? &opt.server
                             : strcmp(argv[i], "--trust") == 0    ? &opt.trust
                             : strcmp(argv[i], "--ca-label") == 0 ? &opt.ca_label
                                                                  : NULL;
        if (value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "devid-enroll: %s needs a value\n", argv[i]);
                return EXIT_USAGE;
            }
            *value = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0)
            opt.json = true;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_HEALTHY;
        } else {
            fprintf(stderr, "devid-enroll: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++) {
        if (strcmp(argv[i], commands[c].name) != 0)
            continue;
        if (devid_core_init() != DEVID_OK) {
            fprintf(stderr, "devid-enroll: %s\n", devid_last_error());
            if (opt.json)
                json_print_error(commands[c].name, EXIT_USAGE, devid_last_error());
            return EXIT_USAGE;
        }
        devid_token_use_configured_pin(); /* PINs set: the user PIN from pin_file */
        devid_clear_error();
        int rc = commands[c].run(&opt, argc - i - 1, argv + i + 1);
        if (opt.json && rc != EXIT_HEALTHY && !json_document_written)
            json_print_error(commands[c].name, rc, devid_last_error()); /* errors too */
        enroll_providers_unload();
        devid_core_fini();
        return rc;
    }
    fprintf(stderr, "devid-enroll: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return EXIT_USAGE;
}
