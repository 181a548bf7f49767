/* SPDX-License-Identifier: Apache-2.0 */
/* Object attributes, computed from the item's key and certificates each time they are asked
 * for (nothing is copied, so a relabelled store object or a renewed certificate shows at once).
 * Here: the value setters, the attributes every token object has, and the lookup that passes
 * the rest to its class's file (attr_key.c, attr_cert.c, attr_secret.c).
 */
#include "attr.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

/* ---- values ---------------------------------------------------------------------------------- */

void p11_val_free(p11_val *v)
{
    OPENSSL_free(v->heap);
    v->heap = NULL;
    v->ptr = NULL;
    v->len = 0;
}

CK_RV p11_val_ulong(p11_val *v, CK_ULONG x)
{
    memcpy(v->inl, &x, sizeof(x));
    v->ptr = v->inl;
    v->len = sizeof(x);
    return CKR_OK;
}

CK_RV p11_val_bool(p11_val *v, bool b)
{
    v->inl[0] = b ? CK_TRUE : CK_FALSE;
    v->ptr = v->inl;
    v->len = sizeof(CK_BBOOL);
    return CKR_OK;
}

CK_RV p11_val_ref(p11_val *v, const void *p, size_t n)
{
    v->ptr = n ? p : v->inl;
    v->len = n;
    return CKR_OK;
}

/* Takes ownership of an OPENSSL_malloc'd buffer (as i2d_* returns), n < 0 meaning failure. */
CK_RV p11_val_take(p11_val *v, unsigned char *p, int n)
{
    if (n < 0 || (n > 0 && !p)) {
        OPENSSL_free(p);
        return CKR_HOST_MEMORY;
    }
    v->heap = p;
    return p11_val_ref(v, p, (size_t)n);
}

/* CKA_ALLOWED_MECHANISMS: the key's list, sized first, then filled. */
CK_RV p11_val_allowed_mechs(p11_val *v, devid_key *key)
{
    size_t n = p11_mech_allowed_list(key, NULL, 0);
    CK_MECHANISM_TYPE *list = OPENSSL_malloc(n ? n * sizeof(*list) : 1);
    if (!list)
        return CKR_HOST_MEMORY;
    p11_mech_allowed_list(key, list, n);
    return p11_val_take(v, (unsigned char *)list, (int)(n * sizeof(*list)));
}

CK_RV p11_val_name(p11_val *v, const X509_NAME *name)
{
    unsigned char *p = NULL;
    int n = i2d_X509_NAME(name, &p);
    return p11_val_take(v, p, n);
}

/* The id is computed by core (devid_pubkey_id), as for a factory key's own CKA_ID. */
CK_RV p11_val_pubkey_id(p11_val *v, EVP_PKEY *pub)
{
    unsigned char *id = OPENSSL_malloc(20);
    if (!pub || !id || devid_pubkey_id(pub, id) != DEVID_OK) {
        OPENSSL_free(id);
        return CKR_GENERAL_ERROR;
    }
    return p11_val_take(v, id, 20);
}

/* ---- common attributes ----------------------------------------------------------------------- */

static bool writable(const p11_object *obj)
{
    return !obj->item->factory;
}

/* Which object of a store group obj is (each has its own label and CKA_ID). */
static devid_store_object store_object(const p11_object *obj)
{
    switch (obj->cls) {
    case CKO_PUBLIC_KEY:
        return DEVID_STORE_OBJ_PUBLIC;
    case CKO_CERTIFICATE:
        return DEVID_STORE_OBJ_CERT;
    default:
        return DEVID_STORE_OBJ_KEY;
    }
}

static CK_RV common_attr(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    p11_item *it = obj->item;
    /* store groups and session key pairs: a name per object */
    bool store = it->src == P11_ITEM_STORE || (it->src == P11_ITEM_SESSION && it->key);
    switch (type) {
    case CKA_CLASS:
        return p11_val_ulong(v, obj->cls);
    case CKA_TOKEN:
        return p11_val_bool(v, it->src != P11_ITEM_SESSION);
    case CKA_PRIVATE:
        return p11_val_bool(v, obj->cls == CKO_PRIVATE_KEY || obj->cls == CKO_SECRET_KEY ||
                                   (obj->cls == CKO_DATA && it->data_private));
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
        return p11_val_bool(v, writable(obj));
    case CKA_COPYABLE:
        return p11_val_bool(v, false);
    case CKA_LABEL:
        if (obj->chain >= 0) {
            int n = snprintf(NULL, 0, "%s-CA-%d", it->label, obj->chain + 1);
            unsigned char *p = OPENSSL_malloc((size_t)n + 1);
            if (!p)
                return CKR_HOST_MEMORY;
            snprintf((char *)p, (size_t)n + 1, "%s-CA-%d", it->label, obj->chain + 1);
            return p11_val_take(v, p, n);
        }
        if (store) {
            const char *label = devid_store_label_of(&it->attrs, store_object(obj));
            return p11_val_ref(v, label, strlen(label));
        }
        return p11_val_ref(v, it->label, strlen(it->label));
    case CKA_ID:
        if (obj->chain >= 0) {
            CK_RV rv;
            X509 *c = p11_object_cert(obj, &rv);
            if (!c)
                return rv != CKR_OK ? rv : CKR_GENERAL_ERROR;
            return p11_val_pubkey_id(v, X509_get0_pubkey(c));
        }
        {
            const unsigned char *id;
            size_t len;
            if (store) {
                id = devid_store_id_of(&it->attrs, store_object(obj), &len);
                return p11_val_ref(v, id, len);
            }
            CK_RV rv = p11_item_id(it, &id, &len);
            return rv == CKR_OK ? p11_val_ref(v, id, len) : rv;
        }
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* ---- lookups by class ------------------------------------------------------------------------ */

CK_RV p11_attr_get(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    memset(v, 0, sizeof(*v));
    if (obj->secret)
        return p11_attr_session_secret(obj->secret, type, v);
    CK_RV rv = common_attr(obj, type, v);
    if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
        return rv;
    if (obj->cls == CKO_CERTIFICATE)
        return p11_attr_cert(obj, type, v);
    if (obj->cls == CKO_DATA)
        return p11_attr_session_data(obj, type, v);
    if (obj->cls == CKO_SECRET_KEY)
        return p11_attr_store_secret(obj, type, v);
    if (obj->item->src == P11_ITEM_SESSION && obj->item->pub_only)
        return p11_attr_session_pub(obj, type, v);
    return p11_attr_key(obj, type, v);
}

bool p11_attr_match(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (CK_ULONG i = 0; i < n; i++) {
        p11_val v;
        if (p11_attr_get(obj, tmpl[i].type, &v) != CKR_OK)
            return false;
        bool same = v.len == tmpl[i].ulValueLen &&
                    (v.len == 0 || memcmp(v.ptr, tmpl[i].pValue, v.len) == 0);
        p11_val_free(&v);
        if (!same)
            return false;
    }
    return true;
}
