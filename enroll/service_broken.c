/* SPDX-License-Identifier: Apache-2.0 */
/* Service identities that are broken: devid-enroll made them (their CA chain file
 * <store>/NAME-chain.pem is there) but their key or certificate is gone from the store (deleted
 * through PKCS#11, or an older token re-initialisation that left the chain file). status and
 * renew list them, so an identity never disappears silently. */
#include "service.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHAIN_SUFFIX "-chain.pem"

/* Why NAME is broken ("" if it is not): its store groups and a pending rotation. */
static void diagnose(const devid_store_entry *e, size_t n, const char *name, char *why, size_t len)
{
    char pending[DEVID_LABEL_MAX + 16];
    snprintf(pending, sizeof(pending), "%s%s", name, PENDING);
    bool key = false, cert = false, whole = false;
    for (size_t i = 0; i < n; i++) {
        bool mine = strcmp(e[i].attrs.label, name) == 0;
        if (!mine && !(strcmp(e[i].attrs.label, pending) == 0 && e[i].has_key && e[i].has_cert))
            continue; /* (a complete pending pair is the identity: renew completes it) */
        key |= e[i].has_key;
        cert |= e[i].has_cert;
        whole |= e[i].has_key && e[i].has_cert;
    }
    why[0] = '\0';
    if (whole)
        return;
    snprintf(why, len, "%s gone from the store (its chain file is still there): enroll it again",
             key    ? "its certificate is"
             : cert ? "its key is"
                    : "its key and certificate are");
}

devid_rc service_list_broken(broken_identity **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    devid_store_entry *e = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list(&e, &n);
    if (rc == DEVID_OK)
        rc = service_list_broken_in(e, n, out, count);
    free(e);
    return rc;
}

devid_rc service_list_broken_in(const devid_store_entry *e, size_t n, broken_identity **out,
                                size_t *count)
{
    *out = NULL;
    *count = 0;
    const devid_config *cfg = devid_core_config();
    devid_rc rc = DEVID_OK;
    DIR *d = opendir(cfg->store);
    if (!d) {
        return errno == ENOENT
                   ? DEVID_OK
                   : devid_fail(DEVID_ERR_IO, "store %s: %s", cfg->store, strerror(errno));
    }
    size_t cap = 0;
    for (struct dirent *de; rc == DEVID_OK && (de = readdir(d));) {
        size_t len = strlen(de->d_name), sl = strlen(CHAIN_SUFFIX);
        if (len <= sl || len - sl > DEVID_LABEL_MAX || strcmp(de->d_name + len - sl, CHAIN_SUFFIX))
            continue;
        char name[DEVID_LABEL_MAX + 1], path[4096];
        memcpy(name, de->d_name, len - sl);
        name[len - sl] = '\0';
        service_chain_path(name, path, sizeof(path));
        bool map_file = false; /* the LDevID's ldevid-chain.pem is no service identity */
        for (int i = 0; i < DEVID_MAP_COUNT; i++)
            map_file |= cfg->map[i].cert_file && strcmp(cfg->map[i].cert_file, path) == 0;
        if (map_file || !service_name_valid(name))
            continue;
        broken_identity b = { 0 };
        snprintf(b.name, sizeof(b.name), "%s", name);
        diagnose(e, n, name, b.reason, sizeof(b.reason));
        if (!b.reason[0])
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 4;
            broken_identity *grown = realloc(*out, cap * sizeof(**out));
            if (!grown) {
                rc = devid_fail(DEVID_ERR_MEMORY, "broken identities");
                break;
            }
            *out = grown;
        }
        (*out)[(*count)++] = b;
    }
    closedir(d);
    if (rc != DEVID_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return rc;
}
