/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the templates callers pass (C_CreateObject, C_GenerateKey*, C_DeriveKey,
 * C_SetAttributeValue, C_FindObjectsInit): finding an attribute, typed values, pointer checks.
 */
#include "p11.h"

#include <string.h>

const CK_ATTRIBUTE *p11_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
    for (CK_ULONG i = 0; i < n; i++)
        if (tmpl[i].type == type)
            return &tmpl[i];
    return NULL;
}

CK_RV p11_tmpl_bool(const CK_ATTRIBUTE *a, CK_BBOOL *out)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    CK_BBOOL b = *(const CK_BBOOL *)a->pValue;
    if (b != CK_TRUE && b != CK_FALSE)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = b;
    return CKR_OK;
}

CK_RV p11_tmpl_ulong(const CK_ATTRIBUTE *a, CK_ULONG *out)
{
    if (!a->pValue || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(out, a->pValue, sizeof(*out));
    return CKR_OK;
}

CK_RV p11_tmpl_label(const CK_ATTRIBUTE *a, char label[DEVID_LABEL_MAX + 1])
{
    if (a->ulValueLen > DEVID_LABEL_MAX || (a->ulValueLen && !a->pValue) ||
        (a->ulValueLen && memchr(a->pValue, 0, a->ulValueLen)))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memset(label, 0, DEVID_LABEL_MAX + 1);
    if (a->ulValueLen)
        memcpy(label, a->pValue, a->ulValueLen);
    return CKR_OK;
}

CK_RV p11_tmpl_id(const CK_ATTRIBUTE *a, unsigned char id[DEVID_ID_MAX], size_t *len)
{
    if (a->ulValueLen > DEVID_ID_MAX || (a->ulValueLen && !a->pValue))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a->ulValueLen)
        memcpy(id, a->pValue, a->ulValueLen);
    *len = a->ulValueLen;
    return CKR_OK;
}

CK_RV p11_tmpl_check(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (n && !tmpl)
        return CKR_ARGUMENTS_BAD;
    for (CK_ULONG i = 0; i < n; i++)
        if (!tmpl[i].pValue && tmpl[i].ulValueLen)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}
