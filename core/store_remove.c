/* SPDX-License-Identifier: Apache-2.0 */
/* Removing whole store groups (token re-initialisation, store.h devid_store_clear).
 *
 * A group goes in one step no reader can see half done: its attribute file, which makes it a
 * group in listings, moves into a trash directory named after it (.trash-<uid>); the rest of
 * the group follows (key, certificate, data value, and the CA chain file devid-enroll keeps for it as
 * <label>-chain.pem), then the trash directory is removed. A crash in between leaves the trash
 * directory: the next mutation of the store (store_lock) finishes the removal.
 */
#include "store.h"
#include "config.h"
#include "core.h"
#include "fsutil.h"
#include "log.h"
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ATTR_FILE 4096
#define TRASH_PREFIX ".trash-"

/* The chain file of a group labelled a->label, if it may have one: never a hidden name, a
 * path, or a DevID map entry's own certificate file (the LDevID's ldevid-chain.pem). */
static bool chain_path(const devid_store_attrs *a, char *path, size_t len)
{
    const devid_config *cfg = devid_core_config();
    if (!a->label[0] || a->label[0] == '.' || strchr(a->label, '/') ||
        (size_t)snprintf(path, len, "%s/%s-chain.pem", cfg->store, a->label) >= len)
        return false;
    for (int i = 0; i < DEVID_MAP_COUNT; i++)
        if (cfg->map[i].cert_file && strcmp(cfg->map[i].cert_file, path) == 0)
            return false;
    return true;
}

static devid_rc move_to_trash(const char *trash, const char *from)
{
    char to[4096];
    const char *base = strrchr(from, '/');
    if ((size_t)snprintf(to, sizeof(to), "%s%s", trash, base) >= sizeof(to))
        return devid_fail(DEVID_ERR_ARG, "store path too long");
    if (rename(from, to) != 0 && errno != ENOENT)
        return devid_fail(DEVID_ERR_IO, "removing %s: %s", from, strerror(errno));
    return DEVID_OK;
}

/* Moves what is left of group uid into its trash directory, then empties and removes it. */
static devid_rc finish_trash(const char *uid)
{
    char trash[4096], path[4096 + 64];
    if ((size_t)snprintf(trash, sizeof(trash), "%s/" TRASH_PREFIX "%s", store_dir(), uid) >=
        sizeof(trash))
        return devid_fail(DEVID_ERR_ARG, "store path too long");
    devid_store_attrs a;
    unsigned char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/%s.attr", trash, uid);
    bool have_attrs = devid_read_file(path, MAX_ATTR_FILE, &text, &len) == DEVID_OK &&
                      devid_store_parse_attrs((const char *)text, len, &a) == DEVID_OK;
    free(text);
    devid_rc rc = DEVID_OK;
    const char *parts[] = { "attr", "key", "crt", "dat" };
    for (size_t i = 0; rc == DEVID_OK && i < sizeof(parts) / sizeof(parts[0]); i++) {
        rc = store_part_path(uid, parts[i], path, sizeof(path));
        if (rc == DEVID_OK)
            rc = move_to_trash(trash, path);
    }
    if (rc == DEVID_OK && have_attrs && chain_path(&a, path, sizeof(path)))
        rc = move_to_trash(trash, path);
    DIR *d = rc == DEVID_OK ? opendir(trash) : NULL;
    if (rc == DEVID_OK && !d)
        rc = devid_fail(DEVID_ERR_IO, "%s: %s", trash, strerror(errno));
    for (struct dirent *de; d && rc == DEVID_OK && (de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
            rc = devid_fail(DEVID_ERR_IO, "removing %s/%s: %s", trash, de->d_name, strerror(errno));
    }
    if (d)
        closedir(d);
    if (rc == DEVID_OK && rmdir(trash) != 0 && errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", trash, strerror(errno));
    return rc;
}

/* Lock held. */
static devid_rc trash_group(const char *uid)
{
    char trash[4096], attr[4096];
    snprintf(trash, sizeof(trash), "%s/" TRASH_PREFIX "%s", store_dir(), uid);
    devid_rc rc = store_part_path(uid, "attr", attr, sizeof(attr));
    /* group rwx whatever the umask: another member finishes it if this process dies */
    if (rc == DEVID_OK && mkdir(trash, 0770) != 0 && errno != EEXIST)
        rc = devid_fail(DEVID_ERR_IO, "creating %s: %s", trash, strerror(errno));
    else if (rc == DEVID_OK && chmod(trash, 0770) != 0 && errno != EPERM)
        rc = devid_fail(DEVID_ERR_IO, "setting the mode of %s: %s", trash, strerror(errno));
    if (rc == DEVID_OK)
        rc = move_to_trash(trash, attr); /* the one step: the group leaves listings whole */
    return rc == DEVID_OK ? finish_trash(uid) : rc;
}

/* Lock held: finishes removals a crash interrupted. Failures are logged: the next mutation
 * tries again. */
void store_finish_removals(void)
{
    DIR *d = opendir(store_dir());
    if (!d)
        return;
    size_t plen = strlen(TRASH_PREFIX);
    for (struct dirent *de; (de = readdir(d));) {
        const char *uid = de->d_name + plen;
        if (strncmp(de->d_name, TRASH_PREFIX, plen) == 0 && store_valid_uid(uid) &&
            finish_trash(uid) != DEVID_OK)
            devid_warn("store: %s", devid_last_error());
    }
    closedir(d);
}

/* Every group, whatever state its attribute file is in (unreadable ones too: re-initialising
 * the token must not keep an object because it is corrupted). */
devid_rc devid_store_clear(void)
{
    int lock = -1;
    devid_rc rc = store_lock(&lock);
    if (rc != DEVID_OK)
        return rc;
    DIR *d = opendir(store_dir());
    if (!d)
        rc = devid_fail(DEVID_ERR_IO, "store %s: %s", store_dir(), strerror(errno));
    /* collect first: removing while reading a directory may skip entries */
    char(*uids)[DEVID_UID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *de; d && rc == DEVID_OK && (de = readdir(d));) {
        size_t len = strlen(de->d_name);
        if (len != DEVID_UID_LEN + 5 || strcmp(de->d_name + DEVID_UID_LEN, ".attr") != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            void *grown = realloc(uids, cap * sizeof(*uids));
            if (!grown) {
                rc = devid_fail(DEVID_ERR_MEMORY, "store clear");
                break;
            }
            uids = grown;
        }
        memcpy(uids[n], de->d_name, DEVID_UID_LEN);
        uids[n][DEVID_UID_LEN] = '\0';
        if (store_valid_uid(uids[n]))
            n++;
    }
    if (d)
        closedir(d);
    for (size_t i = 0; rc == DEVID_OK && i < n; i++)
        rc = trash_group(uids[i]);
    if (rc == DEVID_OK)
        rc = devid__sync_dir(store_dir());
    store_unlock(lock);
    free(uids);
    return rc;
}
