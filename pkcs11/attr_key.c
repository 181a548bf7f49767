/* SPDX-License-Identifier: Apache-2.0 */
/* Attributes of key-pair objects (CKO_PRIVATE_KEY, CKO_PUBLIC_KEY): type, usage from core's key
 * flags, the public values (EC parameters and point, RSA modulus and exponent, SPKI) in PKCS#11's
 * encodings, and the private values, which are sensitive: they never leave the TPM.
 */
#include "attr.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

/* ---- public values in PKCS#11's encodings ---------------------------------------------------- */

/* CKA_MODULUS, CKA_PUBLIC_EXPONENT: an RSA parameter, big-endian. */
static CK_RV p11_val_bn(p11_val *v, EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    int n = BN_num_bytes(bn);
    unsigned char *p = OPENSSL_malloc(n ? (size_t)n : 1);
    if (p)
        BN_bn2bin(bn, p);
    BN_free(bn);
    return p11_val_take(v, p, p ? n : -1);
}

/* The key's named curve (NID_undef if it has none). */
static int ec_curve_nid(EVP_PKEY *pkey)
{
    char name[64];
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
                                       NULL) != 1)
        return NID_undef;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    return nid;
}

/* CKA_EC_PARAMS: the DER OID of the named curve. */
static CK_RV p11_val_ec_params(p11_val *v, EVP_PKEY *pkey)
{
    ASN1_OBJECT *oid = OBJ_nid2obj(ec_curve_nid(pkey));
    if (!oid)
        return CKR_GENERAL_ERROR;
    unsigned char *p = NULL;
    int n = i2d_ASN1_OBJECT(oid, &p);
    return p11_val_take(v, p, n);
}

/* CKA_EC_POINT: DER OCTET STRING around the uncompressed point 04 || X || Y. */
static CK_RV p11_val_ec_point(p11_val *v, EVP_PKEY *pkey)
{
    BIGNUM *x = NULL, *y = NULL;
    size_t flen = ((size_t)EVP_PKEY_get_bits(pkey) + 7) / 8;
    CK_RV rv = CKR_GENERAL_ERROR;
    if (flen > 0 && flen <= 66 && EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) == 1 &&
        EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) == 1) {
        size_t plen = 1 + 2 * flen, hdr = plen < 128 ? 2 : 3;
        unsigned char *p = OPENSSL_malloc(hdr + plen);
        if (!p) {
            rv = CKR_HOST_MEMORY;
        } else {
            p[0] = 0x04; /* OCTET STRING */
            if (hdr == 2) {
                p[1] = (unsigned char)plen;
            } else {
                p[1] = 0x81;
                p[2] = (unsigned char)plen;
            }
            p[hdr] = 0x04; /* uncompressed */
            if (BN_bn2binpad(x, p + hdr + 1, (int)flen) < 0 ||
                BN_bn2binpad(y, p + hdr + 1 + flen, (int)flen) < 0) {
                OPENSSL_free(p);
            } else {
                rv = p11_val_take(v, p, (int)(hdr + plen));
            }
        }
    }
    BN_free(x);
    BN_free(y);
    return rv;
}

/* CKA_PUBLIC_KEY_INFO: the DER SubjectPublicKeyInfo. */
static CK_RV p11_val_spki(p11_val *v, EVP_PKEY *pkey)
{
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(pkey, &p);
    return p11_val_take(v, p, n);
}

/* ---- key attributes -------------------------------------------------------------------------- */

/* CKA_SUBJECT of a key: its certificate's subject; empty without a certificate. */
static CK_RV key_subject(p11_object *obj, p11_val *v)
{
    p11_item *it = obj->item;
    if (!p11_item_has_cert(it))
        return p11_val_ref(v, NULL, 0);
    X509 *cert;
    CK_RV rv = p11_item_cert(it, &cert);
    return rv == CKR_OK ? p11_val_name(v, X509_get_subject_name(cert)) : rv;
}

/* The public values in PKCS#11's encodings: they need OpenSSL's form of the public key, whose
 * first use costs milliseconds that a signature does not need to pay. */
static bool key_public_value_type(CK_ATTRIBUTE_TYPE type)
{
    switch (type) {
    case CKA_PUBLIC_KEY_INFO:
    case CKA_EC_PARAMS:
    case CKA_EC_POINT:
    case CKA_MODULUS:
    case CKA_PUBLIC_EXPONENT:
        return true;
    default:
        return false;
    }
}

CK_RV p11_val_public(p11_val *v, EVP_PKEY *pkey, CK_ATTRIBUTE_TYPE type)
{
    bool ec = EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC;
    switch (type) {
    case CKA_PUBLIC_KEY_INFO:
        return p11_val_spki(v, pkey);
    case CKA_EC_PARAMS:
        return ec ? p11_val_ec_params(v, pkey) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_EC_POINT:
        /* Not a private-key attribute in the specification, but consumers (libp11, gnutls)
         * read it there; it is public. */
        return ec ? p11_val_ec_point(v, pkey) : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_MODULUS:
        return ec ? CKR_ATTRIBUTE_TYPE_INVALID : p11_val_bn(v, pkey, OSSL_PKEY_PARAM_RSA_N);
    case CKA_PUBLIC_EXPONENT:
        return ec ? CKR_ATTRIBUTE_TYPE_INVALID : p11_val_bn(v, pkey, OSSL_PKEY_PARAM_RSA_E);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

static CK_RV key_public_value(devid_key *key, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    EVP_PKEY *pkey = devid_key_get_public(key);
    return pkey ? p11_val_public(v, pkey, type) : CKR_GENERAL_ERROR;
}

/* Attributes both halves of the pair have; CKR_ATTRIBUTE_TYPE_INVALID for the others. */
static CK_RV key_common(p11_object *obj, devid_key *key, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    bool ec = devid_key_get_type(key) == DEVID_KEY_EC;
    switch (type) {
    case CKA_KEY_TYPE:
        return p11_val_ulong(v, ec ? CKK_EC : CKK_RSA);
    case CKA_START_DATE:
    case CKA_END_DATE:
        return p11_val_ref(v, NULL, 0);
    case CKA_DERIVE:
        return p11_val_bool(v, p11_key_can_derive(key)); /* both halves of the pair */
    case CKA_LOCAL:
        return p11_val_bool(v, devid_key_get_flags(key) & DEVID_KEY_TPM_GENERATED);
    case CKA_KEY_GEN_MECHANISM:
        /* Store and session keys were all made by the TPM's key generation; factory keys:
         * unknown. */
        if (obj->item->src == P11_ITEM_MAP)
            return p11_val_ulong(v, CK_UNAVAILABLE_INFORMATION);
        return p11_val_ulong(v, ec ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN);
    case CKA_SUBJECT:
        return key_subject(obj, v);
    case CKA_MODULUS_BITS:
        return ec ? CKR_ATTRIBUTE_TYPE_INVALID
                  : p11_val_ulong(v, (CK_ULONG)devid_key_get_bits(key));
    case CKA_ALLOWED_MECHANISMS:
        return p11_val_allowed_mechs(v, key);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* Attributes of the public half only. */
static CK_RV key_public_half(devid_key *key, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    switch (type) {
    case CKA_VERIFY:
        return p11_val_bool(v, p11_key_can_sign(key));
    case CKA_ENCRYPT:
        return p11_val_bool(v, p11_key_can_decrypt(key));
    case CKA_VERIFY_RECOVER:
    case CKA_WRAP:
    case CKA_TRUSTED:
        return p11_val_bool(v, false);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* Attributes of the private half only: its usage, and its values, which never leave the TPM. */
static CK_RV key_private_half(devid_key *key, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    bool ec = devid_key_get_type(key) == DEVID_KEY_EC;
    unsigned f = devid_key_get_flags(key);
    switch (type) {
    case CKA_SIGN:
        return p11_val_bool(v, p11_key_can_sign(key));
    case CKA_DECRYPT:
        return p11_val_bool(v, p11_key_can_decrypt(key));
    case CKA_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
        return p11_val_bool(v, true);
    case CKA_ALWAYS_SENSITIVE:
        return p11_val_bool(v, (f & DEVID_KEY_TPM_GENERATED) && (f & DEVID_KEY_FIXED_TPM));
    case CKA_SIGN_RECOVER:
    case CKA_UNWRAP:
    case CKA_EXTRACTABLE:
    case CKA_WRAP_WITH_TRUSTED:
    case CKA_ALWAYS_AUTHENTICATE:
        return p11_val_bool(v, false);
    case CKA_VALUE:
        return ec ? CKR_ATTRIBUTE_SENSITIVE : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_PRIVATE_EXPONENT:
    case CKA_PRIME_1:
    case CKA_PRIME_2:
    case CKA_EXPONENT_1:
    case CKA_EXPONENT_2:
    case CKA_COEFFICIENT:
        return ec ? CKR_ATTRIBUTE_TYPE_INVALID : CKR_ATTRIBUTE_SENSITIVE;
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

CK_RV p11_attr_key(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    devid_key *key;
    CK_RV rv = p11_item_key(obj->item, &key);
    if (rv != CKR_OK)
        return rv;
    if (key_public_value_type(type))
        return key_public_value(key, type, v);
    /* The three groups share no attribute: one that is not common is the half's own. */
    rv = key_common(obj, key, type, v);
    if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
        return rv;
    return obj->cls == CKO_PRIVATE_KEY ? key_private_half(key, type, v)
                                       : key_public_half(key, type, v);
}
