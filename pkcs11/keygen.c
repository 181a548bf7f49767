/* SPDX-License-Identifier: Apache-2.0 */
/* Key generation: C_GenerateKeyPair creates a key pair in the TPM and stores it (core's
 * store); C_GenerateKey creates HMAC-SHA256 keys in the TPM (CKM_GENERIC_SECRET_KEY_GEN).
 * AES keys would have to leave the TPM for AES-GCM, so CKM_AES_KEY_GEN is no mechanism here
 * and consumers such as keyd fall back to their own on CKR_MECHANISM_INVALID. */
#include "p11.h"

#include <openssl/objects.h>
#include <string.h>

const p11_mech p11_mech_keygen[] = {
    { .type = CKM_EC_KEY_PAIR_GEN,
      .name = "CKM_EC_KEY_PAIR_GEN",
      .key_type = CKK_EC,
      .min_bits = 256,
      .max_bits = 384,
      .flags = CKF_HW | CKF_GENERATE_KEY_PAIR | CKF_EC_F_P | CKF_EC_NAMEDCURVE |
               CKF_EC_UNCOMPRESS },
    { .type = CKM_RSA_PKCS_KEY_PAIR_GEN,
      .name = "CKM_RSA_PKCS_KEY_PAIR_GEN",
      .key_type = CKK_RSA,
      .min_bits = 2048,
      .max_bits = 4096,
      .flags = CKF_HW | CKF_GENERATE_KEY_PAIR },
    { .type = CKM_GENERIC_SECRET_KEY_GEN,
      .name = "CKM_GENERIC_SECRET_KEY_GEN",
      .key_type = CKK_GENERIC_SECRET,
      .min_bits = 256,
      .max_bits = 256,
      .flags = CKF_HW | CKF_GENERATE },
};
const size_t p11_mech_keygen_count = sizeof(p11_mech_keygen) / sizeof(p11_mech_keygen[0]);

/* What a key pair template may say, and what we make of it. */
typedef struct {
    devid_keygen gen;
    devid_store_attrs attrs; /* the private key's name (the group's) */
    bool have_label, have_id;
    bool pub_label, pub_id; /* the public-key template named its object */
    bool token, token_seen; /* CKA_TOKEN true in a template (absent: a session pair) */
} keygen_req;

static CK_RV curve_from_params(const CK_ATTRIBUTE *a, int *nid)
{
    const unsigned char *p = a->pValue;
    ASN1_OBJECT *oid = a->pValue ? d2i_ASN1_OBJECT(NULL, &p, (long)a->ulValueLen) : NULL;
    if (!oid || p != (const unsigned char *)a->pValue + a->ulValueLen) {
        ASN1_OBJECT_free(oid);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    int n = OBJ_obj2nid(oid);
    ASN1_OBJECT_free(oid);
    if (n != NID_X9_62_prime256v1 && n != NID_secp384r1)
        return CKR_CURVE_NOT_SUPPORTED;
    *nid = n;
    return CKR_OK;
}

static CK_RV exponent_ok(const CK_ATTRIBUTE *a)
{
    const unsigned char *e = a->pValue;
    size_t n = a->ulValueLen, i = 0;
    while (i < n && e[i] == 0)
        i++;
    /* The TPM's default exponent is 65537 (01 00 01); others are not worth the trouble. */
    return n - i == 3 && e[i] == 1 && e[i + 1] == 0 && e[i + 2] == 1 ? CKR_OK
                                                                     : CKR_ATTRIBUTE_VALUE_INVALID;
}

/* CKA_LABEL, CKA_ID: each object its own. */
static CK_RV parse_name_attr(keygen_req *r, const CK_ATTRIBUTE *a, bool priv)
{
    if (a->type == CKA_LABEL) {
        if (!priv) {
            r->pub_label = true;
            return p11_tmpl_label(a, r->attrs.pub.label);
        }
        r->have_label = true;
        return p11_tmpl_label(a, r->attrs.label);
    }
    if (!priv) {
        r->pub_id = true;
        return p11_tmpl_id(a, r->attrs.pub.id, &r->attrs.pub.id_len);
    }
    if (p11_tmpl_id(a, r->attrs.id, &r->attrs.id_len) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    r->have_id = r->attrs.id_len > 0;
    return CKR_OK;
}

static CK_RV parse_modulus_bits(keygen_req *r, const CK_ATTRIBUTE *a, CK_KEY_TYPE kt)
{
    CK_ULONG u = 0;
    if (kt != CKK_RSA)
        return CKR_TEMPLATE_INCONSISTENT;
    if (p11_tmpl_ulong(a, &u) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (u != 2048 && u != 3072 && u != 4096)
        return CKR_KEY_SIZE_RANGE;
    r->gen.bits = (int)u;
    return CKR_OK;
}

/* CKA_TOKEN true: a store key pair; false or absent: a session key pair (never persisted); the
 * two templates must agree. */
static CK_RV parse_token(keygen_req *r, CK_BBOOL b)
{
    if (r->token_seen && r->token != (b == CK_TRUE))
        return CKR_TEMPLATE_INCONSISTENT;
    r->token_seen = true;
    r->token = b == CK_TRUE;
    return CKR_OK;
}

/* A flag (CK_BBOOL attribute) of either template. */
static CK_RV parse_flag_attr(keygen_req *r, const CK_ATTRIBUTE *a, bool priv, CK_KEY_TYPE kt)
{
    CK_BBOOL b = CK_FALSE;
    if (p11_tmpl_bool(a, &b) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (a->type) {
    case CKA_TOKEN:
        return parse_token(r, b);
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
    case CKA_VERIFY:
    case CKA_ENCRYPT:
        return CKR_OK; /* follow from the private key's usage */
    case CKA_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
        return b ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_EXTRACTABLE:
    case CKA_COPYABLE:
    case CKA_ALWAYS_AUTHENTICATE:
    case CKA_WRAP:
    case CKA_UNWRAP:
    case CKA_SIGN_RECOVER:
    case CKA_VERIFY_RECOVER:
    case CKA_TRUSTED:
    case CKA_WRAP_WITH_TRUSTED:
        return b ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    case CKA_SIGN:
        if (priv)
            r->gen.sign = b;
        return CKR_OK;
    case CKA_DECRYPT:
        /* keyd asks DECRYPT on EC keys too: meaningless there, accepted. RSA: raw RSA and
         * OAEP/PKCS#1 decryption (keyd's TLS 1.3 PSS path needs CKM_RSA_X_509). */
        if (priv && kt == CKK_RSA)
            r->gen.decrypt = b;
        return CKR_OK;
    case CKA_DERIVE:
        if (priv && kt == CKK_EC)
            r->gen.decrypt = b; /* ECDH */
        return CKR_OK;
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* One attribute of either template. `priv`: it came from the private-key template. */
static CK_RV parse_attr(keygen_req *r, const CK_ATTRIBUTE *a, bool priv, CK_KEY_TYPE kt)
{
    CK_ULONG u = 0;
    switch (a->type) {
    case CKA_CLASS:
        if (p11_tmpl_ulong(a, &u) != CKR_OK)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return u == (priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY) ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_KEY_TYPE:
        if (p11_tmpl_ulong(a, &u) != CKR_OK)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return u == kt ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_LABEL:
    case CKA_ID:
        return parse_name_attr(r, a, priv);
    case CKA_EC_PARAMS:
        return kt == CKK_EC ? curve_from_params(a, &r->gen.curve_nid) : CKR_TEMPLATE_INCONSISTENT;
    case CKA_MODULUS_BITS:
        return parse_modulus_bits(r, a, kt);
    case CKA_PUBLIC_EXPONENT:
        return kt == CKK_RSA ? exponent_ok(a) : CKR_TEMPLATE_INCONSISTENT;
    case CKA_SUBJECT:
    case CKA_START_DATE:
    case CKA_END_DATE:
        return CKR_OK; /* accepted; the certificate says these */
    default:
        return parse_flag_attr(r, a, priv, kt); /* the rest are flags */
    }
}

static CK_RV parse(keygen_req *r, CK_KEY_TYPE kt, const CK_ATTRIBUTE *pub, CK_ULONG npub,
                   const CK_ATTRIBUTE *priv, CK_ULONG npriv)
{
    memset(r, 0, sizeof(*r));
    r->gen.type = kt == CKK_EC ? DEVID_KEY_EC : DEVID_KEY_RSA;
    r->gen.sign = true;
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; rv == CKR_OK && i < npriv; i++)
        rv = parse_attr(r, &priv[i], true, kt);
    for (CK_ULONG i = 0; rv == CKR_OK && i < npub; i++)
        rv = parse_attr(r, &pub[i], false, kt);
    if (rv != CKR_OK)
        return rv;
    /* A name given in one template only names both objects (pkcs11-tool and most callers
     * give both the same); names that differ stay each object's own. */
    devid_store_attrs *a = &r->attrs;
    if (r->pub_label && !r->have_label)
        memcpy(a->label, a->pub.label, sizeof(a->label));
    else if (!r->pub_label)
        memcpy(a->pub.label, a->label, sizeof(a->label));
    if (r->pub_id && !r->have_id) {
        memcpy(a->id, a->pub.id, a->pub.id_len);
        a->id_len = a->pub.id_len;
        r->have_id = a->id_len > 0;
    } else if (!r->pub_id) {
        memcpy(a->pub.id, a->id, a->id_len);
        a->pub.id_len = a->id_len;
    }
    a->pub.own = strcmp(a->pub.label, a->label) != 0 || a->pub.id_len != a->id_len ||
                 memcmp(a->pub.id, a->id, a->id_len) != 0;
    if (!a->pub.own)
        memset(&a->pub, 0, sizeof(a->pub));
    if (kt == CKK_EC && !r->gen.curve_nid)
        return CKR_TEMPLATE_INCOMPLETE;
    if (kt == CKK_RSA && !r->gen.bits)
        return CKR_TEMPLATE_INCOMPLETE;
    if (!r->gen.sign && !r->gen.decrypt)
        return CKR_TEMPLATE_INCONSISTENT;
    return CKR_OK;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phPublicKey || !phPrivateKey)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if ((rv = p11_tmpl_check(pPublicKeyTemplate, ulPublicKeyAttributeCount)) != CKR_OK ||
        (rv = p11_tmpl_check(pPrivateKeyTemplate, ulPrivateKeyAttributeCount)) != CKR_OK)
        return p11_leave(rv);
    const p11_mech *mech = p11_mech_find(pMechanism->mechanism, CKF_GENERATE_KEY_PAIR);
    if (!mech)
        return p11_leave(CKR_MECHANISM_INVALID);
    if (pMechanism->pParameter || pMechanism->ulParameterLen)
        return p11_leave(CKR_MECHANISM_PARAM_INVALID);
    keygen_req r;
    rv = parse(&r, mech->key_type, pPublicKeyTemplate, ulPublicKeyAttributeCount,
               pPrivateKeyTemplate, ulPrivateKeyAttributeCount);
    if (rv != CKR_OK) {
        devid_warn("pkcs11: C_GenerateKeyPair(%s): template refused (0x%lx)", mech->name,
                   (unsigned long)rv);
        return p11_leave(rv);
    }
    if (!r.token) /* a session key pair: also in a read-only session */
        return p11_leave(
            p11_session_generate(hSession, &r.gen, &r.attrs, phPublicKey, phPrivateKey));
    if (!(s->flags & CKF_RW_SESSION))
        return p11_leave(CKR_SESSION_READ_ONLY);
    rv = p11_store_generate(&r.gen, &r.attrs, phPublicKey, phPrivateKey);
    return p11_leave(rv);
}

/* A flag (CK_BBOOL attribute) of a secret-key template. */
static CK_RV parse_secret_flag(const CK_ATTRIBUTE *at, bool *token)
{
    CK_BBOOL b = CK_FALSE;
    if (p11_tmpl_bool(at, &b) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (at->type == CKA_COPYABLE || p11_store_secret_never(at->type))
        return b ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    switch (at->type) {
    case CKA_TOKEN: /* true: the store; false: a session object (loaded, not kept) */
        *token = b == CK_TRUE;
        return CKR_OK;
    case CKA_SENSITIVE: /* its value never leaves the TPM */
    case CKA_SIGN:
    case CKA_VERIFY:
        return b ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_PRIVATE:
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
        return CKR_OK;
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* One attribute of a secret-key template other than CKA_VALUE. `importing`: C_CreateObject. */
static CK_RV parse_secret_attr(const CK_ATTRIBUTE *at, bool importing, devid_store_attrs *a,
                               bool *token)
{
    CK_ULONG u = 0;
    switch (at->type) {
    case CKA_CLASS:
        if (p11_tmpl_ulong(at, &u) != CKR_OK)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        return u == CKO_SECRET_KEY ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
    case CKA_KEY_TYPE:
        if (p11_tmpl_ulong(at, &u) != CKR_OK)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        /* Only generic secrets: a CKK_SHA256_HMAC object would have to report that type,
         * and the store keeps one kind of secret key. */
        if (u != CKK_GENERIC_SECRET)
            return importing ? CKR_ATTRIBUTE_VALUE_INVALID : CKR_TEMPLATE_INCONSISTENT;
        return CKR_OK;
    case CKA_VALUE_LEN:
        if (p11_tmpl_ulong(at, &u) != CKR_OK)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        /* HMAC-SHA256 keys of the hash's size only */
        return u == DEVID_HMAC_SIZE ? CKR_OK : CKR_KEY_SIZE_RANGE;
    case CKA_LABEL:
        return p11_tmpl_label(at, a->label);
    case CKA_ID:
        return p11_tmpl_id(at, a->id, &a->id_len);
    case CKA_START_DATE:
    case CKA_END_DATE:
        return CKR_OK;
    default:
        return parse_secret_flag(at, token);
    }
}

/* A secret-key template: an HMAC-SHA256 key in the TPM, on the token. Generated (value NULL):
 * 32 bytes; imported (C_CreateObject: value set): CKA_KEY_TYPE and CKA_VALUE required,
 * CKA_VALUE_LEN not allowed (PKCS#11 2.40, generic secret keys). */
static CK_RV parse_secret(const CK_ATTRIBUTE *t, CK_ULONG n, devid_store_attrs *a,
                          const CK_ATTRIBUTE **value, bool *token)
{
    memset(a, 0, sizeof(*a));
    *token = false; /* absent: a session object */
    bool have_type = false;
    if (value)
        *value = NULL;
    for (CK_ULONG i = 0; i < n; i++) {
        if (value && t[i].type == CKA_VALUE) {
            *value = &t[i];
            continue;
        }
        if (value && t[i].type == CKA_VALUE_LEN)
            return CKR_TEMPLATE_INCONSISTENT;
        have_type |= t[i].type == CKA_KEY_TYPE;
        CK_RV rv = parse_secret_attr(&t[i], value != NULL, a, token);
        if (rv != CKR_OK)
            return rv;
    }
    if (value && (!have_type || !*value))
        return CKR_TEMPLATE_INCOMPLETE;
    if (value && ((*value)->ulValueLen == 0 || (*value)->ulValueLen > DEVID_HMAC_IMPORT_MAX))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

CK_RV p11_create_secret(CK_SESSION_HANDLE session, bool rw, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                        CK_OBJECT_HANDLE *key)
{
    devid_store_attrs a;
    const CK_ATTRIBUTE *value = NULL;
    bool token;
    CK_RV rv = parse_secret(tmpl, n, &a, &value, &token);
    if (rv != CKR_OK) {
        devid_warn("pkcs11: C_CreateObject(CKO_SECRET_KEY): template refused (0x%lx)",
                   (unsigned long)rv);
        return rv;
    }
    if (!token)
        return p11_session_secret(session, &a, value->pValue, value->ulValueLen, key);
    if (!rw)
        return CKR_SESSION_READ_ONLY;
    return p11_store_import_secret(value->pValue, value->ulValueLen, &a, key);
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    p11_session *s;
    CK_RV rv = p11_enter_session(hSession, &s);
    if (rv != CKR_OK)
        return rv;
    if (!pMechanism || !phKey)
        return p11_leave(CKR_ARGUMENTS_BAD);
    if ((rv = p11_tmpl_check(pTemplate, ulCount)) != CKR_OK)
        return p11_leave(rv);
    /* Only HMAC-SHA256 keys: the TPM has no AES-GCM, so CKM_AES_KEY_GEN stays
     * CKR_MECHANISM_INVALID and consumers such as keyd keep AES keys themselves. */
    const p11_mech *mech = p11_mech_find(pMechanism->mechanism, CKF_GENERATE);
    if (!mech) {
        devid_debug("pkcs11: C_GenerateKey(0x%lx): no such secret-key mechanism",
                    (unsigned long)pMechanism->mechanism);
        return p11_leave(CKR_MECHANISM_INVALID);
    }
    if (pMechanism->pParameter || pMechanism->ulParameterLen)
        return p11_leave(CKR_MECHANISM_PARAM_INVALID);
    devid_store_attrs a;
    bool token;
    rv = parse_secret(pTemplate, ulCount, &a, NULL, &token);
    if (rv != CKR_OK) {
        devid_warn("pkcs11: C_GenerateKey(%s): template refused (0x%lx)", mech->name,
                   (unsigned long)rv);
        return p11_leave(rv);
    }
    if (!token) /* a session key: also in a read-only session */
        return p11_leave(p11_session_secret(hSession, &a, NULL, 0, phKey));
    if (!(s->flags & CKF_RW_SESSION))
        return p11_leave(CKR_SESSION_READ_ONLY);
    return p11_leave(p11_store_generate_secret(&a, phKey));
}
