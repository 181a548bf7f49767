/* SPDX-License-Identifier: Apache-2.0 */
/* Listing the store: the groups of <store>/ that have an attributes file, with the parts each
 * has. Without the store lock: writers rename files into place, and a group's attributes are
 * written last (store.c), so a listing only sees complete groups. */
#include "store.h"
#include "store_internal.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static devid_rc list_groups(bool with_data, devid_store_entry **entries, size_t *count)
{
    *entries = NULL;
    *count = 0;
    const char *dir = store_dir();
    if (!dir)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return DEVID_OK; /* no store yet: empty */
        return devid_fail(DEVID_ERR_IO, "store %s: %s", dir, strerror(errno));
    }
    size_t cap = 0;
    devid_rc rc = DEVID_OK;
    struct dirent *de;
    while ((de = readdir(d)) && rc == DEVID_OK) {
        const char *name = de->d_name;
        size_t n = strlen(name);
        if (n != DEVID_UID_LEN + 5 || strcmp(name + DEVID_UID_LEN, ".attr") != 0)
            continue;
        devid_store_entry e = { 0 };
        memcpy(e.uid, name, DEVID_UID_LEN);
        if (!store_valid_uid(e.uid))
            continue;
        if (devid_store_get_attrs(e.uid, &e.attrs) != DEVID_OK) {
            devid_warn("skipping store object %s: %s", e.uid, devid_last_error());
            continue; /* one corrupted object must not hide the others */
        }
        e.has_key = store_part_exists(e.uid, "key");
        e.has_cert = store_part_exists(e.uid, "crt");
        e.has_data = store_part_exists(e.uid, "dat");
        if (!e.has_key && !e.has_cert && !(with_data && e.has_data))
            continue; /* data objects only for those that ask (PKCS#11) */
        if (*count == cap) {
            cap = cap ? 2 * cap : 8;
            devid_store_entry *grown = realloc(*entries, cap * sizeof(**entries));
            if (!grown) {
                rc = devid_fail(DEVID_ERR_MEMORY, "store listing");
                break;
            }
            *entries = grown;
        }
        (*entries)[(*count)++] = e;
    }
    closedir(d);
    if (rc != DEVID_OK) {
        free(*entries);
        *entries = NULL;
        *count = 0;
    }
    return rc;
}

devid_rc devid_store_list(devid_store_entry **entries, size_t *count)
{
    return list_groups(false, entries, count);
}

devid_rc devid_store_list_objects(devid_store_entry **entries, size_t *count)
{
    return list_groups(true, entries, count);
}
