/* SPDX-License-Identifier: Apache-2.0 */
/* Object entry points: attribute reads (two-call semantics per attribute), and the changes
 * that only store objects allow (factory objects: CKR_ACTION_PROHIBITED). */
#include "p11.h"

#include <string.h>

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pTemplate && ulCount)
        return p11_leave(CKR_ARGUMENTS_BAD);
    p11_object *obj = p11_object_get(hObject);
    if (!obj)
        return p11_leave(CKR_OBJECT_HANDLE_INVALID);
    /* Every attribute is processed; the result names one of the problems met. */
    for (CK_ULONG i = 0; i < ulCount; i++) {
        CK_ATTRIBUTE *a = &pTemplate[i];
        p11_val v;
        CK_RV r = p11_attr_get(obj, a->type, &v);
        if (r == CKR_ATTRIBUTE_SENSITIVE || r == CKR_ATTRIBUTE_TYPE_INVALID) {
            a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = r;
        } else if (r != CKR_OK) {
            p11_val_free(&v);
            return p11_leave(r); /* the device failed: no partial answer */
        } else if (!a->pValue) {
            a->ulValueLen = v.len;
        } else if (a->ulValueLen >= v.len) {
            if (v.len)
                memcpy(a->pValue, v.ptr, v.len);
            a->ulValueLen = v.len;
        } else {
            a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
            rv = CKR_BUFFER_TOO_SMALL;
        }
        p11_val_free(&v);
    }
    return p11_leave(rv);
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pulSize)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if (!p11_object_get(hObject))
        return p11_leave(CKR_OBJECT_HANDLE_INVALID);
    *pulSize = CK_UNAVAILABLE_INFORMATION;
    return p11_leave(CKR_OK);
}

/* A writable object in a read/write session. */
static CK_RV writable_object(p11_session *s, CK_OBJECT_HANDLE h, p11_object **out)
{
    p11_object *obj = p11_object_get(h);
    if (!obj)
        return CKR_OBJECT_HANDLE_INVALID;
    if (obj->secret)
        return CKR_ACTION_PROHIBITED; /* session secrets are not modifiable */
    if (obj->item->src == P11_ITEM_SESSION) {
        *out = obj; /* a session object: any session, read-only ones too */
        return CKR_OK;
    }
    if (obj->item->factory) {
        devid_info("pkcs11: object %lu (%s) belongs to a factory identity: read-only",
                   (unsigned long)h, obj->item->label);
        return CKR_ACTION_PROHIBITED;
    }
    if (!(s->flags & CKF_RW_SESSION))
        return CKR_SESSION_READ_ONLY;
    *out = obj;
    return CKR_OK;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    p11_object *obj = p11_object_get(hObject);
    if (obj && obj->secret) { /* a session object: any session of the application */
        p11_token_remove_secret(hObject);
        return p11_leave(CKR_OK);
    }
    rv = writable_object(s, hObject, &obj);
    if (rv == CKR_OK)
        rv = obj->item->src == P11_ITEM_SESSION ? p11_session_object_destroy(obj)
                                                : p11_store_destroy(obj);
    return p11_leave(rv);
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    rv = p11_tmpl_check(pTemplate, ulCount);
    if (rv != CKR_OK)
        return p11_leave(rv);
    p11_object *obj;
    rv = writable_object(s, hObject, &obj);
    if (rv == CKR_OK)
        rv = obj->item->src == P11_ITEM_SESSION ? p11_session_object_set(obj, pTemplate, ulCount)
                                                : p11_store_set_attrs(obj, pTemplate, ulCount);
    return p11_leave(rv);
}

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!phObject)
        return p11_leave(CKR_ARGUMENTS_BAD);
    rv = p11_tmpl_check(pTemplate, ulCount);
    if (rv != CKR_OK)
        return p11_leave(rv);
    const CK_ATTRIBUTE *cls = p11_tmpl_find(pTemplate, ulCount, CKA_CLASS);
    CK_ULONG c;
    bool token = false;
    if (!cls)
        return p11_leave(CKR_TEMPLATE_INCOMPLETE);
    if (p11_tmpl_ulong(cls, &c) != CKR_OK || p11_tmpl_token(pTemplate, ulCount, &token) != CKR_OK)
        return p11_leave(CKR_ATTRIBUTE_VALUE_INVALID);
    /* CKA_TOKEN absent means false: public keys, certificates and secret keys become session
     * objects, also in read-only sessions. */
    if (c == CKO_DATA && token) /* a store object: R/W sessions only */
        return p11_leave(s->flags & CKF_RW_SESSION
                             ? p11_store_create_data(pTemplate, ulCount, phObject)
                             : CKR_SESSION_READ_ONLY);
    if (!token && (c == CKO_PUBLIC_KEY || c == CKO_CERTIFICATE || c == CKO_DATA))
        return p11_leave(p11_session_object_create(hSession, c, pTemplate, ulCount, phObject));
    if (c == CKO_SECRET_KEY) /* an HMAC key value, imported into the TPM */
        return p11_leave(
            p11_create_secret(hSession, s->flags & CKF_RW_SESSION, pTemplate, ulCount, phObject));
    if (!(s->flags & CKF_RW_SESSION))
        return p11_leave(CKR_SESSION_READ_ONLY);
    if (c != CKO_CERTIFICATE) {
        /* Key pairs come into being in the TPM (C_GenerateKeyPair): no private key is
         * imported. */
        devid_info("pkcs11: C_CreateObject: only certificates and HMAC keys can be created "
                   "(class %lu)",
                   (unsigned long)c);
        return p11_leave(CKR_ATTRIBUTE_VALUE_INVALID);
    }
    return p11_leave(p11_store_create_cert(pTemplate, ulCount, phObject));
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    (void)pTemplate;
    (void)ulCount;
    if (!phNewObject)
        return p11_leave(CKR_ARGUMENTS_BAD);
    /* CKA_COPYABLE is false on every object: a TPM key cannot be duplicated. */
    return p11_leave(p11_object_get(hObject) ? CKR_ACTION_PROHIBITED : CKR_OBJECT_HANDLE_INVALID);
}
