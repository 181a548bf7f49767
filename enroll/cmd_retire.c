/* devid-enroll retire: removes the owner identities and operational keys (the LDevID, every
 * store object and the service identities' chain files); the IDevID is kept. */
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Retiring cannot be undone: on a terminal the user confirms; elsewhere (a script, a pipe)
 * only --yes does. */
static bool confirmed(bool yes)
{
    if (yes)
        return true;
    if (!isatty(STDIN_FILENO)) {
        fprintf(stderr, "devid-enroll retire: removes the LDevID and every service identity; "
                        "standard input is not a terminal: confirm with --yes\n");
        return false;
    }
    fprintf(stderr, "Remove the LDevID and every service identity (the IDevID is kept)? "
                    "Type 'yes' to confirm: ");
    char line[16] = "";
    if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n") != 0) {
        fprintf(stderr, "devid-enroll retire: not confirmed, nothing removed\n");
        return false;
    }
    return true;
}

int cmd_retire(const enroll_options *opt, int argc, char **argv)
{
    (void)opt;
    bool yes = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
            yes = true;
            continue;
        }
        fprintf(stderr, "devid-enroll retire: unexpected argument '%s'\n", argv[i]);
        return EXIT_USAGE;
    }
    if (!confirmed(yes))
        return EXIT_USAGE;
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        char path[4096];
        service_chain_path(e[i].attrs.label, path, sizeof(path));
        if (unlink(path) != 0 && errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    }
    free(e);
    if (rc == DEVID_OK)
        rc = devid_store_clear();
    if (rc == DEVID_OK && m->key_handle) {
        rc = devid_provision_remove_key(m->key_handle);
        if (rc == DEVID_ERR_NOT_FOUND)
            rc = DEVID_OK;
    }
    if (rc == DEVID_OK && m->cert_source == DEVID_CERT_FILE && unlink(m->cert_file) != 0 &&
        errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", m->cert_file, strerror(errno));
    if (rc != DEVID_OK)
        return command_failed("retire", rc);
    printf("retired: owner identities and operational keys removed; the IDevID is kept\n");
    return EXIT_HEALTHY;
}
