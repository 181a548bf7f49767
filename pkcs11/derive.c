/* SPDX-License-Identifier: Apache-2.0 */
/* C_DeriveKey: ECDH (CKM_ECDH1_DERIVE, CKD_NULL) in the TPM with an EC key that may derive.
 * The shared secret becomes a session object (CKO_SECRET_KEY, CKK_GENERIC_SECRET), gone with
 * its session; it is the raw x-coordinate, for the caller's own KDF. */
#include "p11.h"

#include <stdlib.h>
#include <string.h>

/* CK_ECDH1_DERIVE_PARAMS: CKD_NULL, no shared data, the peer's point (checked against the key
 * in C_DeriveKey). */
static CK_RV ecdh_param(p11_op *op, const CK_MECHANISM *m)
{
    CK_RV rv = p11_mech_param(m, sizeof(CK_ECDH1_DERIVE_PARAMS));
    if (rv != CKR_OK)
        return rv;
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    if (p->kdf != CKD_NULL || p->ulSharedDataLen || !p->pPublicData || p->ulPublicDataLen < 3 ||
        p->ulPublicDataLen > 3 + 1 + 2 * 66)
        return CKR_MECHANISM_PARAM_INVALID;
    if (!(op->peer = malloc(p->ulPublicDataLen)))
        return CKR_HOST_MEMORY;
    memcpy(op->peer, p->pPublicData, p->ulPublicDataLen);
    op->peer_len = p->ulPublicDataLen;
    return CKR_OK;
}

/* The peer's point as an uncompressed point of the key's curve: given raw (04 X Y) or as the
 * DER OCTET STRING that CKA_EC_POINT holds. */
static CK_RV peer_point(p11_op *op, const unsigned char **pt, size_t *len)
{
    size_t want = 1 + 2 * (((size_t)EVP_PKEY_get_bits(p11_op_pub(op)) + 7) / 8);
    const unsigned char *p = op->peer;
    size_t n = op->peer_len;
    if (n == want + 2 && p[0] == 0x04 && p[1] == want) {
        p += 2;
        n -= 2;
    } else if (n == want + 3 && p[0] == 0x04 && p[1] == 0x81 && p[2] == want) {
        p += 3;
        n -= 3;
    }
    if (n != want || p[0] != 0x04)
        return CKR_MECHANISM_PARAM_INVALID; /* uncompressed points of the key's curve only */
    *pt = p;
    *len = n;
    return CKR_OK;
}

const p11_mech p11_mech_derive[] = {
    { .type = CKM_ECDH1_DERIVE,
      .name = "CKM_ECDH1_DERIVE",
      .key_type = CKK_EC,
      .min_bits = 256,
      .max_bits = 521,
      .flags = CKF_HW | CKF_DERIVE | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS,
      .param = ecdh_param },
};
const size_t p11_mech_derive_count = sizeof(p11_mech_derive) / sizeof(p11_mech_derive[0]);

/* What the template may ask of the derived secret. */
static CK_RV secret_template(const CK_ATTRIBUTE *t, CK_ULONG n, p11_secret *sec,
                             CK_ULONG *value_len)
{
    sec->sensitive = false;
    sec->extractable = true;
    *value_len = 0;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_ULONG u;
        CK_BBOOL b;
        switch (t[i].type) {
        case CKA_CLASS:
            if (p11_tmpl_ulong(&t[i], &u) != CKR_OK || u != CKO_SECRET_KEY)
                return CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_KEY_TYPE:
            if (p11_tmpl_ulong(&t[i], &u) != CKR_OK || u != CKK_GENERIC_SECRET)
                return CKR_TEMPLATE_INCONSISTENT;
            break;
        case CKA_VALUE_LEN:
            if (p11_tmpl_ulong(&t[i], value_len) != CKR_OK || *value_len == 0)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case CKA_LABEL: /* the same rules as every other object's label and id */
            if (p11_tmpl_label(&t[i], sec->label) != CKR_OK)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case CKA_ID:
            if (p11_tmpl_id(&t[i], sec->id, &sec->id_len) != CKR_OK)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        case CKA_TOKEN:
            if (p11_tmpl_bool(&t[i], &b) != CKR_OK || b)
                return CKR_TEMPLATE_INCONSISTENT; /* session objects only */
            break;
        case CKA_SENSITIVE:
            if (p11_tmpl_bool(&t[i], &b) != CKR_OK)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            sec->sensitive = b;
            break;
        case CKA_EXTRACTABLE:
            if (p11_tmpl_bool(&t[i], &b) != CKR_OK)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            sec->extractable = b;
            break;
        case CKA_PRIVATE:
        case CKA_MODIFIABLE:
        case CKA_DESTROYABLE:
        case CKA_ENCRYPT:
        case CKA_DECRYPT:
        case CKA_SIGN:
        case CKA_VERIFY:
        case CKA_WRAP:
        case CKA_UNWRAP:
        case CKA_DERIVE:
            /* usage of a value holder: nothing here uses secret keys; accepted */
            if (p11_tmpl_bool(&t[i], &b) != CKR_OK)
                return CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        default:
            return CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    return CKR_OK;
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phKey)
        return p11_leave(CKR_ARGUMENTS_BAD);
    rv = p11_tmpl_check(pTemplate, ulAttributeCount);
    if (rv != CKR_OK)
        return p11_leave(rv);
    p11_op *op = NULL;
    rv = p11_op_init(&op, pMechanism, hBaseKey, CKF_DERIVE, CKO_PRIVATE_KEY, CKA_DERIVE);
    p11_secret *sec = calloc(1, sizeof(*sec));
    CK_ULONG want = 0;
    if (rv == CKR_OK && !sec)
        rv = CKR_HOST_MEMORY;
    if (rv == CKR_OK)
        rv = secret_template(pTemplate, ulAttributeCount, sec, &want);
    unsigned char z[66];
    size_t zlen = sizeof(z);
    const unsigned char *peer = NULL;
    size_t peer_len = 0;
    if (rv == CKR_OK)
        rv = peer_point(op, &peer, &peer_len);
    if (rv == CKR_OK) {
        devid_rc rc = devid_key_ecdh(op->key, peer, peer_len, z, &zlen);
        /* a point the TPM refuses (not on the curve, wrong size) is a bad parameter */
        rv = rc == DEVID_ERR_ARG ? (p11_rv(rc, "ECDH"), CKR_MECHANISM_PARAM_INVALID)
                                 : p11_rv(rc, "ECDH");
    }
    if (rv == CKR_OK && want > zlen)
        rv = CKR_TEMPLATE_INCONSISTENT; /* more bytes than ECDH gives */
    if (rv == CKR_OK) {
        sec->session = hSession;
        sec->len = want ? want : zlen; /* CKA_VALUE_LEN: the leading bytes */
        if (!(sec->value = malloc(sec->len)))
            rv = CKR_HOST_MEMORY;
        else
            memcpy(sec->value, z, sec->len);
    }
    memset(z, 0, sizeof(z));
    p11_op_free(op);
    if (rv == CKR_OK)
        return p11_leave(p11_token_add_secret(sec, phKey));
    if (sec)
        free(sec->value);
    free(sec);
    return p11_leave(rv);
}
