/* SPDX-License-Identifier: Apache-2.0 */
/* Store-backed objects: the owner's keys and certificates in the devid store (core/store.h).
 *
 * A store group holds a key, a certificate or both. CKA_LABEL and CKA_ID belong to one object
 * each: renaming the public key leaves the private key and the certificate as they are (key
 * rotation renames the public key, then finds the private key by its old label). Destroying
 * the public-key object only hides it (the key stays usable); destroying the private key
 * deletes the key from the store. Every change is written at once and seen by other
 * processes at their next C_FindObjectsInit.
 */
#include "p11.h"

#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static p11_item *find_item(const char *uid)
{
    for (size_t i = 0; i < p11_item_count(); i++) {
        p11_item *it = p11_item_at(i);
        if (it->src == P11_ITEM_STORE && strcmp(it->uid, uid) == 0)
            return it;
    }
    return NULL;
}

static void apply_attrs(p11_item *it, const devid_store_attrs *a)
{
    it->attrs = *a;
    memcpy(it->label, a->label, sizeof(it->label));
    memcpy(it->id, a->id, a->id_len);
    it->id_len = a->id_len;
}

/* A data object's attributes, and its value (read once: a value never changes, a new value is
 * a new group). An unreadable value leaves the object out. */
static void apply_data(p11_item *it, const devid_store_entry *e)
{
    const devid_store_attrs *a = &e->attrs;
    it->is_data = false;
    if (!e->has_data)
        return;
    if (!it->data) {
        size_t len = 0;
        if (devid_store_read_data(it->uid, &it->data, &len) != DEVID_OK) {
            devid_warn("pkcs11: store data object %s: %s", it->uid, devid_last_error());
            return;
        }
        it->data_len = len;
    }
    free(it->application);
    it->application = strdup(a->application);
    free(it->object_id);
    it->object_id = a->object_id_len ? malloc(a->object_id_len) : NULL;
    if (!it->application || (a->object_id_len && !it->object_id))
        return;           /* out of memory: not shown until the next listing */
    if (a->object_id_len) /* (no memcpy to a NULL buffer, even of 0 bytes) */
        memcpy(it->object_id, a->object_id, a->object_id_len);
    it->object_id_len = a->object_id_len;
    it->data_private = a->data_private;
    it->is_data = true;
}

static void apply_entry(p11_item *it, const devid_store_entry *e)
{
    apply_attrs(it, &e->attrs);
    apply_data(it, e);
    it->has_key = e->has_key;
    /* Certificates are re-read after every listing: another process may have replaced one.
     * (Keys stay loaded: a group's key never changes; a new key is a new group.) */
    X509_free(it->cert);
    it->cert = NULL;
    it->has_cert = e->has_cert;
}

static CK_RV add_item(const devid_store_entry *e, p11_item **out)
{
    p11_item *it = p11_item_new(P11_ITEM_STORE);
    if (!it)
        return CKR_HOST_MEMORY;
    memcpy(it->uid, e->uid, sizeof(it->uid));
    apply_entry(it, e);
    CK_RV rv = p11_token_add_item(it);
    if (rv != CKR_OK) {
        p11_item_unref(it);
        return rv;
    }
    if (out)
        *out = it;
    return CKR_OK;
}

CK_RV p11_store_sync(void)
{
    devid_store_entry *entries = NULL;
    size_t n = 0;
    devid_rc rc = devid_store_list_objects(&entries, &n);
    if (rc != DEVID_OK)
        return p11_rv(rc, "listing the store");
    CK_RV rv = CKR_OK;
    /* Groups that are gone (deleted by anyone) leave the token. */
    for (size_t i = p11_item_count(); i-- > 0;) {
        p11_item *it = p11_item_at(i);
        if (it->src != P11_ITEM_STORE)
            continue;
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++)
            seen = strcmp(entries[k].uid, it->uid) == 0;
        if (!seen)
            p11_token_remove_item(it);
    }
    for (size_t k = 0; k < n && rv == CKR_OK; k++) {
        p11_item *it = find_item(entries[k].uid);
        if (it)
            apply_entry(it, &entries[k]);
        else
            rv = add_item(&entries[k], NULL);
    }
    free(entries);
    return rv;
}

CK_RV p11_store_open_key(p11_item *item)
{
    return p11_rv(devid_store_open_key(item->uid, &item->key), "opening a store key");
}

CK_RV p11_store_read_cert(p11_item *item)
{
    return p11_rv(devid_store_read_cert(item->uid, &item->cert), "reading a store certificate");
}

/* ---- changes --------------------------------------------------------------------------------- */

CK_RV p11_store_destroy(p11_object *obj)
{
    p11_item *it = obj->item;
    devid_store_attrs a;
    devid_rc rc = DEVID_OK;
    switch (obj->cls) {
    case CKO_PUBLIC_KEY:
        /* The public half of a TPM key cannot go on its own: hide its object. */
        rc = devid_store_hide_public(it->uid, &a);
        if (rc == DEVID_OK)
            apply_attrs(it, &a);
        break;
    case CKO_PRIVATE_KEY:
    case CKO_SECRET_KEY:
        rc = devid_store_delete(it->uid, DEVID_STORE_KEY);
        if (rc == DEVID_OK)
            it->has_key = false; /* the loaded key stays until no operation holds it */
        break;
    case CKO_DATA:
        rc = devid_store_delete(it->uid, DEVID_STORE_DATA);
        if (rc == DEVID_OK)
            it->is_data = false;
        break;
    case CKO_CERTIFICATE:
        rc = devid_store_delete(it->uid, DEVID_STORE_CERT);
        if (rc == DEVID_OK) {
            it->has_cert = false;
            X509_free(it->cert);
            it->cert = NULL;
        }
        break;
    default:
        return CKR_OBJECT_HANDLE_INVALID;
    }
    if (rc == DEVID_ERR_NOT_FOUND)
        rc = DEVID_OK; /* already gone (another process): the result is the same */
    if (rc != DEVID_OK)
        return p11_rv(rc, "destroying a store object");
    if (!it->has_key && !it->has_cert && !it->is_data)
        p11_token_remove_item(it);
    p11_token_rebuild();
    return CKR_OK;
}

static devid_store_object store_object(CK_OBJECT_CLASS cls)
{
    return cls == CKO_PUBLIC_KEY    ? DEVID_STORE_OBJ_PUBLIC
           : cls == CKO_CERTIFICATE ? DEVID_STORE_OBJ_CERT
                                    : DEVID_STORE_OBJ_KEY;
}

CK_RV p11_store_set_attrs(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    p11_item *it = obj->item;
    char label[DEVID_LABEL_MAX + 1];
    unsigned char id[DEVID_ID_MAX];
    size_t id_len = 0;
    bool set_label = false, set_id = false;
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        switch (tmpl[i].type) {
        case CKA_LABEL:
            rv = p11_tmpl_label(&tmpl[i], label);
            set_label = true;
            break;
        case CKA_ID:
            rv = p11_tmpl_id(&tmpl[i], id, &id_len);
            set_id = true;
            break;
        default: {
            /* Everything else is fixed; setting it to what it is already is harmless. */
            p11_val v;
            rv = p11_attr_get(obj, tmpl[i].type, &v);
            if (rv == CKR_OK || rv == CKR_ATTRIBUTE_SENSITIVE)
                rv = rv == CKR_OK && v.len == tmpl[i].ulValueLen &&
                             (!v.len || memcmp(v.ptr, tmpl[i].pValue, v.len) == 0)
                         ? CKR_OK
                         : CKR_ATTRIBUTE_READ_ONLY;
            p11_val_free(&v);
        }
        }
    }
    if (rv != CKR_OK || (!set_label && !set_id))
        return rv;
    /* This object only, in one atomic write of the group's attributes. */
    devid_store_attrs a;
    devid_rc rc = devid_store_rename(it->uid, store_object(obj->cls), set_label ? label : NULL,
                                     set_id ? id : NULL, id_len, &a);
    if (rc == DEVID_ERR_NOT_FOUND)
        return CKR_OBJECT_HANDLE_INVALID; /* deleted by another process */
    if (rc != DEVID_OK)
        return p11_rv(rc, "writing store attributes");
    apply_attrs(it, &a);
    return CKR_OK;
}

/* ---- certificates -------------------------------------------------------------------------- */

/* A store group with a key for this certificate and no certificate yet: found by CKA_ID, then
 * checked by comparing the public keys. */
static p11_item *key_group_for(X509 *cert, const unsigned char *id, size_t id_len)
{
    for (size_t i = 0; i < p11_item_count(); i++) {
        p11_item *it = p11_item_at(i);
        if (it->src != P11_ITEM_STORE || !it->has_key || it->attrs.secret || it->has_cert ||
            it->id_len != id_len || memcmp(it->id, id, id_len) != 0)
            continue;
        devid_key *key;
        if (p11_item_key(it, &key) == CKR_OK &&
            EVP_PKEY_eq(devid_key_get_public(key), X509_get0_pubkey(cert)) == 1)
            return it;
    }
    return NULL;
}

static CK_RV cert_template(const CK_ATTRIBUTE *tmpl, CK_ULONG n, X509 **cert, devid_store_attrs *a,
                           bool *have_label, bool *have_id)
{
    CK_RV rv = CKR_OK;
    CK_ULONG u;
    CK_BBOOL b;
    *have_label = *have_id = false;
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        const CK_ATTRIBUTE *t = &tmpl[i];
        switch (t->type) {
        case CKA_CLASS:
            break; /* checked by the caller */
        case CKA_CERTIFICATE_TYPE:
            if (p11_tmpl_ulong(t, &u) != CKR_OK || u != CKC_X_509)
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case CKA_TOKEN:
            /* certificates live in the store: no session objects */
            if (p11_tmpl_bool(t, &b) != CKR_OK || !b)
                rv = CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_VALUE: {
            const unsigned char *p = t->pValue;
            X509_free(*cert);
            *cert = p ? d2i_X509(NULL, &p, (long)t->ulValueLen) : NULL;
            if (!*cert || p != (const unsigned char *)t->pValue + t->ulValueLen)
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        }
        case CKA_LABEL:
            rv = p11_tmpl_label(t, a->label);
            *have_label = true;
            break;
        case CKA_ID:
            rv = p11_tmpl_id(t, a->id, &a->id_len);
            *have_id = a->id_len > 0;
            break;
        case CKA_TRUSTED:
            /* trust is not ours to grant */
            if (p11_tmpl_bool(t, &b) != CKR_OK || b)
                rv = CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_PRIVATE:
        case CKA_MODIFIABLE:
        case CKA_DESTROYABLE:
        case CKA_SUBJECT:
        case CKA_ISSUER:
        case CKA_SERIAL_NUMBER:
        case CKA_CERTIFICATE_CATEGORY:
        case CKA_START_DATE:
        case CKA_END_DATE:
        case CKA_URL:
        case CKA_CHECK_VALUE:
            break; /* the certificate itself says these */
        default:
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    if (rv == CKR_OK && !*cert)
        rv = CKR_TEMPLATE_INCOMPLETE;
    return rv;
}

CK_RV p11_store_create_cert(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    X509 *cert = NULL;
    devid_store_attrs a;
    memset(&a, 0, sizeof(a));
    bool have_label, have_id;
    CK_RV rv = cert_template(tmpl, n, &cert, &a, &have_label, &have_id);
    EVP_PKEY *pub = cert ? X509_get0_pubkey(cert) : NULL;
    if (rv == CKR_OK && !have_id) {
        /* no CKA_ID: the key identifier, as for every other object */
        if (!pub || devid_pubkey_id(pub, a.id) != DEVID_OK)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
        a.id_len = 20;
    }
    if (rv == CKR_OK)
        rv = p11_token_sync(true);
    if (rv != CKR_OK) {
        X509_free(cert);
        return rv;
    }
    /* Next to its key when the store has it (the key's name stays the key's), else its own
     * group. Its label, if the template has one, is the certificate's own. */
    p11_item *group = key_group_for(cert, a.id, a.id_len);
    char uid[DEVID_UID_LEN + 1];
    devid_rc rc = devid_store_put_cert(group ? group->uid : NULL, cert, group ? NULL : &a, uid);
    X509_free(cert);
    if (rc == DEVID_OK && group && have_label)
        rc = devid_store_rename(uid, DEVID_STORE_OBJ_CERT, a.label, NULL, 0, NULL);
    if (rc != DEVID_OK)
        return p11_rv(rc, "storing a certificate");
    rv = p11_token_sync(true);
    p11_item *it = find_item(uid);
    if (rv == CKR_OK && !(it && (*out = p11_object_handle(it, CKO_CERTIFICATE))))
        rv = CKR_GENERAL_ERROR;
    return rv;
}

/* ---- data objects ------------------------------------------------------------------------- */

CK_RV p11_store_create_data(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    p11_item *t = p11_item_new(P11_ITEM_SESSION); /* the template's values, not listed */
    if (!t)
        return CKR_HOST_MEMORY;
    CK_RV rv = p11_data_template(t, tmpl, n);
    if (rv == CKR_OK && t->data_private && p11_pin_set() && p11_login_user() != CKU_USER)
        rv = CKR_USER_NOT_LOGGED_IN; /* private objects stay behind the login */
    if (rv == CKR_OK && ((t->application && strlen(t->application) > DEVID_APP_MAX) ||
                         t->object_id_len > DEVID_OID_MAX || t->data_len > DEVID_DATA_MAX)) {
        devid_info("pkcs11: data object: CKA_APPLICATION at most %d bytes, CKA_OBJECT_ID %d, "
                   "CKA_VALUE %d",
                   DEVID_APP_MAX, DEVID_OID_MAX, DEVID_DATA_MAX);
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    }
    devid_store_attrs a;
    memset(&a, 0, sizeof(a));
    if (rv == CKR_OK) {
        memcpy(a.label, t->label, sizeof(a.label));
        a.data_private = t->data_private;
        if (t->application)
            memcpy(a.application, t->application, strlen(t->application) + 1);
        if (t->object_id_len)
            memcpy(a.object_id, t->object_id, t->object_id_len);
        a.object_id_len = t->object_id_len;
        rv = p11_token_sync(true);
    }
    char uid[DEVID_UID_LEN + 1];
    if (rv == CKR_OK) {
        devid_rc rc = devid_store_put_data(t->data, t->data_len, &a, uid);
        if (rc != DEVID_OK)
            rv = p11_rv(rc, "storing a data object");
    }
    p11_item_unref(t); /* cleanses the value */
    if (rv == CKR_OK)
        rv = p11_token_sync(true);
    p11_item *it = rv == CKR_OK ? find_item(uid) : NULL;
    if (rv == CKR_OK && !(it && (*out = p11_object_handle(it, CKO_DATA))))
        rv = CKR_GENERAL_ERROR;
    return rv;
}

/* ---- key pairs ----------------------------------------------------------------------------- */

CK_RV p11_store_generate(const devid_keygen *gen, const devid_store_attrs *attrs,
                         CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    char uid[DEVID_UID_LEN + 1];
    devid_rc rc = devid_store_generate(gen, attrs, uid);
    if (rc != DEVID_OK)
        return p11_keygen_rv(rc, gen->type, "generating a key");
    CK_RV rv = p11_token_sync(true);
    p11_item *it = rv == CKR_OK ? find_item(uid) : NULL;
    if (rv == CKR_OK && !it)
        rv = CKR_GENERAL_ERROR; /* deleted already by someone else */
    devid_key *key = NULL;
    if (rv == CKR_OK)
        rv = p11_item_key(it, &key);
    if (rv == CKR_OK && it->id_len == 0) {
        /* no CKA_ID asked for: the key identifier, like every other key here */
        devid_store_attrs a = it->attrs;
        if (devid_pubkey_id(devid_key_get_public(key), a.id) == DEVID_OK) {
            a.id_len = 20;
            if (a.pub.own && a.pub.id_len == 0) { /* a public key named differently */
                memcpy(a.pub.id, a.id, a.id_len);
                a.pub.id_len = a.id_len;
            }
            rc = devid_store_set_attrs(uid, &a);
            if (rc == DEVID_OK)
                apply_attrs(it, &a);
            else
                rv = p11_rv(rc, "writing store attributes");
        }
    }
    if (rv != CKR_OK)
        return rv;
    p11_token_rebuild();
    *pub = p11_object_handle(it, CKO_PUBLIC_KEY);
    *priv = p11_object_handle(it, CKO_PRIVATE_KEY);
    devid_info("pkcs11: generated %s key '%s' (store object %s)",
               gen->type == DEVID_KEY_EC ? "EC" : "RSA", it->label, uid);
    return *pub && *priv ? CKR_OK : CKR_GENERAL_ERROR;
}

/* ---- secret keys ----------------------------------------------------------------------------- */

/* The new store object `uid` made by core (rc) as a CKO_SECRET_KEY handle. */
static CK_RV secret_made(devid_rc rc, const char *uid, const char *what, CK_OBJECT_HANDLE *key)
{
    if (rc == DEVID_ERR_AUTH) { /* PINs are set and nobody logged in */
        p11_rv(rc, what);
        return CKR_USER_NOT_LOGGED_IN;
    }
    if (rc != DEVID_OK)
        return p11_rv(rc, what);
    CK_RV rv = p11_token_sync(true);
    p11_item *it = rv == CKR_OK ? find_item(uid) : NULL;
    if (rv == CKR_OK && !(it && (*key = p11_object_handle(it, CKO_SECRET_KEY))))
        rv = CKR_GENERAL_ERROR; /* deleted already by someone else */
    if (rv == CKR_OK)
        devid_info("pkcs11: %s: '%s' (store object %s)", what, it->label, uid);
    return rv;
}

CK_RV p11_store_generate_secret(const devid_store_attrs *attrs, CK_OBJECT_HANDLE *key)
{
    devid_keygen gen = { .type = DEVID_KEY_HMAC, .sign = true };
    char uid[DEVID_UID_LEN + 1];
    devid_rc rc = devid_store_generate(&gen, attrs, uid);
    return secret_made(rc, uid, "generating an HMAC-SHA256 key", key);
}

CK_RV p11_store_import_secret(const void *value, size_t len, const devid_store_attrs *attrs,
                              CK_OBJECT_HANDLE *key)
{
    char uid[DEVID_UID_LEN + 1];
    devid_rc rc = devid_store_import_hmac(value, len, attrs, uid);
    return secret_made(rc, uid, "importing an HMAC-SHA256 key", key);
}
