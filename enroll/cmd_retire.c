/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll retire: removes the owner identities and operational keys (the LDevID, every
 * store object and the service identities' chain files); the IDevID is kept. */
#include "json.h"
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
        usage_failed("retire", "removes the LDevID and every service identity; standard "
                               "input is not a terminal: confirm with --yes");
        return false;
    }
    fprintf(stderr, "Remove the LDevID and every service identity (the IDevID is kept)? "
                    "Type 'yes' to confirm: ");
    char line[16] = "";
    if (!fgets(line, sizeof(line), stdin) || strcmp(line, "yes\n") != 0) {
        usage_failed("retire", "not confirmed, nothing removed");
        return false;
    }
    return true;
}

static void retire_json(const devid_store_entry *e, size_t n, const bool *chain_gone,
                        uint32_t ldevid_key, const char *ldevid_cert)
{
    json_writer w;
    char hex[16];
    json_begin_command(&w, "retire");
    json_begin_object(&w, "removed");
    snprintf(hex, sizeof(hex), "0x%08x", ldevid_key);
    json_string(&w, "ldevid_key", ldevid_key ? hex : NULL);
    json_string(&w, "ldevid_certificate", ldevid_cert);
    json_begin_array(&w, "store_objects");
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        json_begin_object(&w, NULL);
        json_string(&w, "label", e[i].attrs.label);
        json_bool(&w, "key", e[i].has_key);
        json_bool(&w, "certificate", e[i].has_cert);
        service_chain_path(e[i].attrs.label, path, sizeof(path));
        json_string(&w, "chain_file", chain_gone[i] ? path : NULL);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    json_string(&w, "kept", "IDevID");
    json_end_command(&w, EXIT_HEALTHY);
}

/* Removing the LDevID key (TPM2_EvictControl) needs the owner's authorisation: a missing
 * setting is said before anything is removed, not after the service identities are gone. */
static devid_rc retire_auth_ready(uint32_t ldevid_handle)
{
    devid_key *key = NULL;
    devid_rc rc = ldevid_handle ? devid_key_open_persistent(ldevid_handle, &key)
                                : DEVID_ERR_NOT_FOUND;
    devid_key_free(key);
    devid_clear_error(); /* (no key, or one that cannot be opened: the removal says why) */
    return rc == DEVID_OK ? devid_hierarchy_auth_ready(DEVID_NEEDS_PERSIST) : DEVID_OK;
}

int cmd_retire(const enroll_options *opt, int argc, char **argv)
{
    bool yes = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
            yes = true;
            continue;
        }
        return usage_failed("retire", "unexpected argument '%s'", argv[i]);
    }
    if (!confirmed(yes))
        return EXIT_USAGE;
    const devid_map_entry *m = &devid_core_config()->map[DEVID_MAP_LDEVID];
    devid_store_entry *e = NULL;
    size_t n = 0;
    /* what was there and is gone, for --json: the store's objects and their chain files,
     * the LDevID's key and certificate file */
    bool *chain_gone = NULL, ldevid_key_gone = false, ldevid_cert_gone = false;
    devid_rc rc = retire_auth_ready(m->key_handle);
    if (rc == DEVID_OK)
        rc = devid_store_list(&e, &n);
    if (rc == DEVID_OK && n && !(chain_gone = calloc(n, sizeof(*chain_gone))))
        rc = devid_fail(DEVID_ERR_MEMORY, "retire");
    for (size_t i = 0; rc == DEVID_OK && i < n; i++) {
        char path[4096];
        service_chain_path(e[i].attrs.label, path, sizeof(path));
        if (unlink(path) == 0)
            chain_gone[i] = true;
        else if (errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    }
    if (rc == DEVID_OK)
        rc = devid_store_clear();
    if (rc == DEVID_OK)
        rc = csr_attest_forget_all(); /* the records of the certificates just removed */
    if (rc == DEVID_OK && m->key_handle) {
        rc = devid_provision_remove_key(m->key_handle);
        ldevid_key_gone = rc == DEVID_OK;
        if (rc == DEVID_ERR_NOT_FOUND)
            rc = DEVID_OK;
    }
    if (rc == DEVID_OK && m->cert_source == DEVID_CERT_FILE) {
        if (unlink(m->cert_file) == 0)
            ldevid_cert_gone = true;
        else if (errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", m->cert_file, strerror(errno));
    }
    if (rc == DEVID_OK) {
        printf("retired: owner identities and operational keys removed; the IDevID is kept\n");
        if (opt->json)
            retire_json(e, n, chain_gone, ldevid_key_gone ? m->key_handle : 0,
                        ldevid_cert_gone ? m->cert_file : NULL);
    }
    free(e);
    free(chain_gone);
    return rc == DEVID_OK ? EXIT_HEALTHY : command_failed("retire", rc);
}
