/* SPDX-License-Identifier: Apache-2.0 */
/* C_FindObjects*: each search re-lists the store first, so objects created, renamed or
 * deleted by other processes (keyd, devid-enroll) are seen at once. The matching handles are
 * collected at C_FindObjectsInit. */
#include "p11.h"

#include <stdlib.h>

struct p11_find {
    CK_OBJECT_HANDLE *handles;
    size_t n, pos;
};

void p11_find_free(p11_find *f)
{
    if (!f)
        return;
    free(f->handles);
    free(f);
}

/* Attributes that cost nothing to compare (no key to open, no certificate to read): tried
 * first, so a search by class and label never loads keys that do not match. (A factory
 * object's CKA_ID is its public key's identifier: it costs the key.) */
static bool cheap(CK_ATTRIBUTE_TYPE t)
{
    return t == CKA_CLASS || t == CKA_LABEL || t == CKA_TOKEN || t == CKA_PRIVATE ||
           t == CKA_MODIFIABLE || t == CKA_DESTROYABLE;
}

/* Whether a template can match a certificate: then the factory certificates must have been
 * read (they are not, until a search wants them). */
static bool may_match_cert(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    const CK_ATTRIBUTE *cls = p11_tmpl_find(tmpl, n, CKA_CLASS);
    CK_ULONG c;
    return !cls || p11_tmpl_ulong(cls, &c) != CKR_OK || c == CKO_CERTIFICATE;
}

static bool matches(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    for (int pass = 0; pass < 2; pass++)
        for (CK_ULONG i = 0; i < n; i++)
            if (cheap(tmpl[i].type) == (pass == 0) && !p11_attr_match(obj, &tmpl[i], 1))
                return false;
    return true;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (s->find)
        return p11_leave(CKR_OPERATION_ACTIVE);
    rv = p11_tmpl_check(pTemplate, ulCount);
    if (rv != CKR_OK)
        return p11_leave(rv);
    rv = p11_token_sync(true);
    if (rv == CKR_OK && may_match_cert(pTemplate, ulCount))
        rv = p11_token_load_certs();
    if (rv != CKR_OK)
        return p11_leave(rv == CKR_TOKEN_NOT_PRESENT ? CKR_DEVICE_REMOVED : rv);
    p11_find *f = calloc(1, sizeof(*f));
    size_t total = p11_object_count();
    if (!f || !(f->handles = calloc(total ? total : 1, sizeof(*f->handles)))) {
        p11_find_free(f);
        return p11_leave(CKR_HOST_MEMORY);
    }
    for (size_t i = 0; i < total; i++) {
        p11_object *obj = p11_object_at(i);
        if (p11_object_visible(obj) && matches(obj, pTemplate, ulCount))
            f->handles[f->n++] = obj->handle;
    }
    s->find = f;
    return p11_leave(CKR_OK);
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->find)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    if (!pulObjectCount || (!phObject && ulMaxObjectCount))
        return p11_leave(CKR_ARGUMENTS_BAD);
    p11_find *f = s->find;
    CK_ULONG k = 0;
    while (k < ulMaxObjectCount && f->pos < f->n)
        phObject[k++] = f->handles[f->pos++];
    *pulObjectCount = k;
    return p11_leave(CKR_OK);
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!s->find)
        return p11_leave(CKR_OPERATION_NOT_INITIALIZED);
    p11_find_free(s->find);
    s->find = NULL;
    return p11_leave(CKR_OK);
}
