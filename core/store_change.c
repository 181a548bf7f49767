/* SPDX-License-Identifier: Apache-2.0 */
/* Changing what is stored in a group, each change under the store lock: its attributes (a new
 * set, a label or id given to one of its objects, its public key hidden) and the removal of
 * some of its parts (devid_store_delete; whole groups at token re-initialisation are
 * store_remove.c's). Creating and reading groups is store.c's. */
#include "store.h"
#include "store_attrs.h"
#include "store_internal.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Takes the store lock for a change to group uid, a malformed id refused first. */
static devid_rc lock_group(const char *uid, int *lock)
{
    if (!store_valid_uid(uid))
        return devid_fail(DEVID_ERR_ARG, "invalid store object id");
    return store_lock(lock);
}

devid_rc devid_store_set_attrs(const char *uid, const devid_store_attrs *attrs)
{
    int lock = -1;
    devid_rc rc = lock_group(uid, &lock);
    if (rc != DEVID_OK)
        return rc;
    if (!store_part_exists(uid, "attr"))
        rc = devid_fail(DEVID_ERR_NOT_FOUND, "no store object %s", uid);
    else
        rc = store_write_attrs(uid, attrs);
    store_unlock(lock);
    return rc;
}

/* Reads a group's attributes, changes them (change returns false: nothing to write) and
 * writes them back, all under the store lock. */
static devid_rc update_attrs(const char *uid, bool (*change)(devid_store_attrs *a, void *arg),
                             void *arg, devid_store_attrs *out)
{
    int lock = -1;
    devid_rc rc = lock_group(uid, &lock);
    if (rc != DEVID_OK)
        return rc;
    devid_store_attrs a;
    if (!store_part_exists(uid, "attr"))
        rc = devid_fail(DEVID_ERR_NOT_FOUND, "no store object %s", uid);
    if (rc == DEVID_OK)
        rc = devid_store_get_attrs(uid, &a);
    if (rc == DEVID_OK && change(&a, arg))
        rc = store_write_attrs(uid, &a);
    store_unlock(lock);
    if (rc == DEVID_OK && out)
        *out = a;
    return rc;
}

typedef struct rename_req {
    const char *uid;
    devid_store_object which;
    const char *label;
    const unsigned char *id;
    size_t id_len;
} rename_req;

static void set_name(devid_store_name *n, const char *label, const unsigned char *id, size_t id_len)
{
    if (label)
        snprintf(n->label, sizeof(n->label), "%s", label);
    if (id) {
        memcpy(n->id, id, id_len);
        n->id_len = id_len;
    }
}

static bool apply_rename(devid_store_attrs *a, void *arg)
{
    const rename_req *r = arg;
    devid_store_name group = { .own = true };
    set_name(&group, a->label, a->id, a->id_len);
    /* The group's name belongs to the key; a group without key is its certificate's. */
    devid_store_object which = r->which;
    if (which == DEVID_STORE_OBJ_CERT && !store_part_exists(r->uid, "key"))
        which = DEVID_STORE_OBJ_KEY;
    if (which == DEVID_STORE_OBJ_KEY) {
        /* the other objects keep the name they show now (a public key only with a key: a
         * certificate or data group gets no public name) */
        if (!a->pub.own && store_part_exists(r->uid, "key"))
            a->pub = group;
        if (!a->cert.own && store_part_exists(r->uid, "crt"))
            a->cert = group;
        set_name(&group, r->label, r->id, r->id_len);
        memcpy(a->label, group.label, sizeof(a->label));
        memcpy(a->id, group.id, group.id_len);
        a->id_len = group.id_len;
    } else {
        devid_store_name *n = which == DEVID_STORE_OBJ_PUBLIC ? &a->pub : &a->cert;
        if (!n->own)
            *n = group;
        set_name(n, r->label, r->id, r->id_len);
    }
    store_attrs_normalize(a);
    return true;
}

devid_rc devid_store_rename(const char *uid, devid_store_object which, const char *label,
                            const unsigned char *id, size_t id_len, devid_store_attrs *out)
{
    if ((label && strlen(label) > DEVID_LABEL_MAX) || (id && id_len > DEVID_ID_MAX))
        return devid_fail(DEVID_ERR_ARG, "label or id too long");
    rename_req r = { uid, which, label, id, id_len };
    return update_attrs(uid, apply_rename, &r, out);
}

static bool apply_hide(devid_store_attrs *a, void *arg)
{
    (void)arg;
    a->public_hidden = true;
    return true;
}

devid_rc devid_store_hide_public(const char *uid, devid_store_attrs *out)
{
    return update_attrs(uid, apply_hide, NULL, out);
}

static devid_rc unlink_part(const char *uid, const char *ext)
{
    char path[4096];
    devid_rc rc = store_part_path(uid, ext, path, sizeof(path));
    if (rc == DEVID_OK && unlink(path) != 0 && errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    return rc;
}

static devid_rc delete_locked(const char *uid, unsigned parts)
{
    if (!store_part_exists(uid, "attr"))
        return devid_fail(DEVID_ERR_NOT_FOUND, "no store object %s", uid);
    bool keep_key = !(parts & DEVID_STORE_KEY) && store_part_exists(uid, "key");
    bool keep_cert = !(parts & DEVID_STORE_CERT) && store_part_exists(uid, "crt");
    bool keep_data = !(parts & DEVID_STORE_DATA) && store_part_exists(uid, "dat");
    devid_rc rc = DEVID_OK;
    if (!keep_key && !keep_cert && !keep_data)
        rc = unlink_part(uid, "attr"); /* the group vanishes from listings first */
    if (rc == DEVID_OK && (parts & DEVID_STORE_KEY))
        rc = unlink_part(uid, "key");
    if (rc == DEVID_OK && (parts & DEVID_STORE_CERT))
        rc = unlink_part(uid, "crt");
    if (rc == DEVID_OK && (parts & DEVID_STORE_DATA))
        rc = unlink_part(uid, "dat");
    devid_store_attrs a;
    if (rc == DEVID_OK && (parts & DEVID_STORE_CERT) && keep_key &&
        devid_store_get_attrs(uid, &a) == DEVID_OK && a.cert.own) {
        /* a later certificate of the group starts with the group's name, not the old one's */
        a.cert.own = false;
        rc = store_write_attrs(uid, &a);
    }
    return rc;
}

devid_rc devid_store_delete(const char *uid, unsigned parts)
{
    int lock = -1;
    devid_rc rc = lock_group(uid, &lock);
    if (rc != DEVID_OK)
        return rc;
    rc = delete_locked(uid, parts);
    if (rc == DEVID_OK)
        rc = devid__sync_dir(store_dir());
    store_unlock(lock);
    return rc;
}
