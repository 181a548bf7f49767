/* SPDX-License-Identifier: Apache-2.0 */
/* Attributes of secret keys (CKO_SECRET_KEY): session secrets, which are derived values held
 * in the module (ECDH results), and store secret keys, which are HMAC-SHA256 keys that never
 * leave the TPM.
 */
#include "attr.h"

#include <string.h>

/* ---- session secrets (ECDH results) ---------------------------------------------------------- */

CK_RV p11_attr_session_secret(const p11_secret *sec, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    switch (type) {
    case CKA_CLASS:
        return p11_val_ulong(v, CKO_SECRET_KEY);
    case CKA_KEY_TYPE:
        return p11_val_ulong(v, CKK_GENERIC_SECRET);
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
    case CKA_COPYABLE:
    case CKA_LOCAL:
    case CKA_ENCRYPT:
    case CKA_DECRYPT:
    case CKA_SIGN:
    case CKA_VERIFY:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_DERIVE:
    case CKA_TRUSTED:
        return p11_val_bool(v, false);
    case CKA_DESTROYABLE:
        return p11_val_bool(v, true);
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE:
        return p11_val_bool(v, sec->sensitive);
    case CKA_EXTRACTABLE:
        return p11_val_bool(v, sec->extractable);
    case CKA_NEVER_EXTRACTABLE:
        return p11_val_bool(v, !sec->extractable);
    case CKA_LABEL:
        return p11_val_ref(v, sec->label, strlen(sec->label));
    case CKA_ID:
        return p11_val_ref(v, sec->id, sec->id_len);
    case CKA_START_DATE:
    case CKA_END_DATE:
        return p11_val_ref(v, NULL, 0);
    case CKA_KEY_GEN_MECHANISM:
        return p11_val_ulong(v, CK_UNAVAILABLE_INFORMATION);
    case CKA_VALUE_LEN:
        return p11_val_ulong(v, sec->len);
    case CKA_VALUE:
        if (sec->sensitive || !sec->extractable)
            return CKR_ATTRIBUTE_SENSITIVE;
        return p11_val_ref(v, sec->value, sec->len);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* ---- store secret keys (HMAC-SHA256 in the TPM) ---------------------------------------------- */

bool p11_store_secret_never(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_ENCRYPT:
    case CKA_DECRYPT:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_DERIVE:
    case CKA_TRUSTED:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_EXTRACTABLE:
    case CKA_ALWAYS_AUTHENTICATE:
        return true;
    default:
        return false;
    }
}

CK_RV p11_attr_store_secret(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    if (p11_store_secret_never(type))
        return p11_val_bool(v, false);
    switch (type) { /* what needs no key */
    case CKA_KEY_TYPE:
        return p11_val_ulong(v, CKK_GENERIC_SECRET);
    case CKA_VALUE_LEN: /* imported keys: their length; generated ones: the hash's */
        return p11_val_ulong(v, obj->item->attrs.value_len ? obj->item->attrs.value_len
                                                           : DEVID_HMAC_SIZE);
    case CKA_VALUE:
        return CKR_ATTRIBUTE_SENSITIVE; /* it never leaves the TPM */
    case CKA_START_DATE:
    case CKA_END_DATE:
        return p11_val_ref(v, NULL, 0);
    case CKA_SENSITIVE:
        return p11_val_bool(v, true);
    default:
        break;
    }
    devid_key *key;
    CK_RV rv = p11_item_key(obj->item, &key);
    if (rv != CKR_OK)
        return rv;
    unsigned f = devid_key_get_flags(key);
    switch (type) {
    case CKA_SIGN:
    case CKA_VERIFY:
        return p11_val_bool(v, p11_key_can_sign(key));
    case CKA_LOCAL:
        return p11_val_bool(v, f & DEVID_KEY_TPM_GENERATED);
    case CKA_KEY_GEN_MECHANISM: /* an imported value was not generated here */
        return p11_val_ulong(v, (f & DEVID_KEY_TPM_GENERATED) ? CKM_GENERIC_SECRET_KEY_GEN
                                                              : CK_UNAVAILABLE_INFORMATION);
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE: /* an imported value existed outside the TPM */
        return p11_val_bool(v, (f & DEVID_KEY_TPM_GENERATED) && (f & DEVID_KEY_FIXED_TPM));
    case CKA_ALLOWED_MECHANISMS:
        return p11_val_allowed_mechs(v, key);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}
