/* Store-backed objects: the owner's keys and certificates in the devid store (core/store.h).
 * Placeholder until core's store implementation lands: the store shows as empty and every
 * change says CKR_FUNCTION_NOT_SUPPORTED. */
#include "p11.h"

CK_RV p11_store_sync(void)
{
    return CKR_OK;
}

CK_RV p11_store_open_key(p11_item *item)
{
    (void)item;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV p11_store_read_cert(p11_item *item)
{
    (void)item;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV p11_store_destroy(p11_object *obj)
{
    (void)obj;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV p11_store_set_attrs(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    (void)obj;
    (void)tmpl;
    (void)n;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV p11_store_create_cert(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    (void)tmpl;
    (void)n;
    (void)out;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

CK_RV p11_store_generate(const devid_keygen *gen, const devid_store_attrs *attrs,
                         CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE *pub, CK_OBJECT_HANDLE *priv)
{
    (void)gen;
    (void)attrs;
    (void)mech;
    (void)pub;
    (void)priv;
    return CKR_FUNCTION_NOT_SUPPORTED;
}
