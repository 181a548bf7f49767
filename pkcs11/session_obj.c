/* SPDX-License-Identifier: Apache-2.0 */
/* Session objects: public keys, certificates and HMAC keys an application creates, and key
 * pairs and HMAC keys it generates, with CKA_TOKEN false or absent (PKCS#11: absent means
 * false). Session key pairs and HMAC keys are TPM keys made like store keys (core) and kept
 * loaded, never written. Held in memory only, never written to the store;
 * usable for verification and encryption (software, like every public-key operation here);
 * visible to every session of the application; gone with the session that created them, at
 * C_CloseAllSessions and C_Finalize, and in a forked child (which starts with no state).
 * Creating them needs no read/write session. Their attributes: the common ones (attr.c) and,
 * for public keys, p11_attr_session_pub here. */
#include "attr.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

CK_RV p11_tmpl_token(const CK_ATTRIBUTE *tmpl, CK_ULONG n, bool *token)
{
    const CK_ATTRIBUTE *a = p11_tmpl_find(tmpl, n, CKA_TOKEN);
    CK_BBOOL b = CK_FALSE;
    if (a && p11_tmpl_bool(a, &b) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *token = b == CK_TRUE;
    return CKR_OK;
}

/* ---- templates ------------------------------------------------------------------------------ */

typedef struct {
    p11_item *it;
    CK_KEY_TYPE key_type;
    const CK_ATTRIBUTE *value, *ec_params, *ec_point, *modulus, *exponent;
} session_req;

/* A CKA_LABEL or CKA_ID into the name given: label, id and its length. */
static CK_RV name_into(const CK_ATTRIBUTE *a, char label[DEVID_LABEL_MAX + 1],
                       unsigned char id[DEVID_ID_MAX], size_t *id_len)
{
    return a->type == CKA_LABEL ? p11_tmpl_label(a, label) : p11_tmpl_id(a, id, id_len);
}

static CK_RV name_attr(p11_item *it, const CK_ATTRIBUTE *a)
{
    return name_into(a, it->label, it->id, &it->id_len);
}

/* One attribute of a session object's template. */
static CK_RV parse_attr(session_req *r, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *a)
{
    CK_BBOOL b = CK_FALSE;
    CK_ULONG u = 0;
    switch (a->type) {
    case CKA_CLASS:
        return CKR_OK; /* the caller's */
    case CKA_LABEL:
    case CKA_ID:
        return name_attr(r->it, a);
    case CKA_CERTIFICATE_TYPE:
        if (cls != CKO_CERTIFICATE)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        return p11_tmpl_ulong(a, &u) == CKR_OK && u == CKC_X_509 ? CKR_OK
                                                                 : CKR_ATTRIBUTE_VALUE_INVALID;
    case CKA_KEY_TYPE:
        if (cls != CKO_PUBLIC_KEY)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        if (p11_tmpl_ulong(a, &u) != CKR_OK || (u != CKK_EC && u != CKK_RSA))
            return CKR_ATTRIBUTE_VALUE_INVALID;
        r->key_type = u;
        return CKR_OK;
    case CKA_VALUE:
        if (cls != CKO_CERTIFICATE)
            return CKR_ATTRIBUTE_TYPE_INVALID;
        r->value = a;
        return CKR_OK;
    case CKA_EC_PARAMS:
        r->ec_params = a;
        return CKR_OK;
    case CKA_EC_POINT:
        r->ec_point = a;
        return CKR_OK;
    case CKA_MODULUS:
        r->modulus = a;
        return CKR_OK;
    case CKA_PUBLIC_EXPONENT:
        r->exponent = a;
        return CKR_OK;
    case CKA_SUBJECT:
    case CKA_ISSUER:
    case CKA_SERIAL_NUMBER:
    case CKA_START_DATE:
    case CKA_END_DATE:
    case CKA_URL:
    case CKA_CHECK_VALUE:
    case CKA_CERTIFICATE_CATEGORY:
        return CKR_OK; /* said by the certificate / not used */
    default:
        break;
    }
    if (p11_tmpl_bool(a, &b) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (a->type) {
    case CKA_TOKEN:
    case CKA_PRIVATE:
    case CKA_TRUSTED:
    case CKA_WRAP:
    case CKA_VERIFY_RECOVER:
    case CKA_DERIVE:
        return b ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    case CKA_MODIFIABLE:
    case CKA_DESTROYABLE:
    case CKA_COPYABLE:
        return CKR_OK;
    case CKA_VERIFY:
        r->it->can_verify = b;
        return cls == CKO_PUBLIC_KEY ? CKR_OK : CKR_ATTRIBUTE_TYPE_INVALID;
    case CKA_ENCRYPT:
        r->it->can_encrypt = b;
        return cls == CKO_PUBLIC_KEY ? CKR_OK : CKR_ATTRIBUTE_TYPE_INVALID;
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* The EVP_PKEY of a public-key template (the values checked by OpenSSL). */
static CK_RV public_key(const session_req *r, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    BIGNUM *n = NULL, *e = NULL;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    bool ok = bld != NULL;
    if (r->key_type == CKK_EC) {
        if (!r->ec_params || !r->ec_point || r->modulus || r->exponent) {
            OSSL_PARAM_BLD_free(bld);
            return r->modulus || r->exponent ? CKR_TEMPLATE_INCONSISTENT : CKR_TEMPLATE_INCOMPLETE;
        }
        const unsigned char *p = r->ec_params->pValue, *q = r->ec_point->pValue;
        ASN1_OBJECT *oid = p ? d2i_ASN1_OBJECT(NULL, &p, (long)r->ec_params->ulValueLen) : NULL;
        ASN1_OCTET_STRING *os = q ? d2i_ASN1_OCTET_STRING(NULL, &q, (long)r->ec_point->ulValueLen)
                                  : NULL;
        const char *curve = oid ? OBJ_nid2sn(OBJ_obj2nid(oid)) : NULL;
        /* CKA_EC_POINT: DER OCTET STRING around the point (some callers give it raw) */
        const unsigned char *pt = os ? os->data : r->ec_point->pValue;
        size_t ptlen = os ? (size_t)os->length : r->ec_point->ulValueLen;
        ok = ok && curve && OBJ_obj2nid(oid) != NID_undef && pt && ptlen &&
             OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) &&
             OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen);
        if (ok)
            params = OSSL_PARAM_BLD_to_param(bld);
        ASN1_OBJECT_free(oid);
        ASN1_OCTET_STRING_free(os);
    } else {
        if (!r->modulus || !r->exponent || r->ec_params || r->ec_point) {
            OSSL_PARAM_BLD_free(bld);
            return r->ec_params || r->ec_point ? CKR_TEMPLATE_INCONSISTENT
                                               : CKR_TEMPLATE_INCOMPLETE;
        }
        n = r->modulus->pValue ? BN_bin2bn(r->modulus->pValue, (int)r->modulus->ulValueLen, NULL)
                               : NULL;
        e = r->exponent->pValue ? BN_bin2bn(r->exponent->pValue, (int)r->exponent->ulValueLen, NULL)
                                : NULL;
        ok = ok && n && e && BN_num_bits(n) >= 1024 && BN_num_bits(n) <= 8192 && BN_is_odd(e) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
             OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
        if (ok)
            params = OSSL_PARAM_BLD_to_param(bld);
    }
    EVP_PKEY_CTX *ctx = params
                            ? EVP_PKEY_CTX_new_from_name(NULL, r->key_type == CKK_EC ? "EC" : "RSA",
                                                         P11_SW_PROPQ)
                            : NULL;
    EVP_PKEY *pkey = NULL;
    if (ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) == 1) {
        EVP_PKEY_CTX *check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, P11_SW_PROPQ);
        if (check && EVP_PKEY_public_check(check) == 1) { /* a point on the curve */
            *out = pkey;
            pkey = NULL;
            rv = CKR_OK;
        }
        EVP_PKEY_CTX_free(check);
    }
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    ERR_clear_error();
    return rv;
}

static CK_RV dup_bytes(const CK_ATTRIBUTE *a, unsigned char **out, size_t *len, bool nul)
{
    if (a->ulValueLen > P11_MAX_DATA) {
        devid_info("pkcs11: attribute 0x%lx of %lu bytes: at most %d", (unsigned long)a->type,
                   (unsigned long)a->ulValueLen, P11_MAX_DATA);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    free(*out);
    *out = malloc(a->ulValueLen + 1);
    if (!*out)
        return CKR_HOST_MEMORY;
    if (a->ulValueLen)
        memcpy(*out, a->pValue, a->ulValueLen);
    (*out)[a->ulValueLen] = 0;
    if (nul && memchr(*out, 0, a->ulValueLen))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (len)
        *len = a->ulValueLen;
    return CKR_OK;
}

/* A CKO_DATA template: CKA_APPLICATION, CKA_OBJECT_ID (DER OID), CKA_VALUE, CKA_PRIVATE,
 * CKA_LABEL, the storage flags. */
CK_RV p11_data_template(p11_item *it, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        const CK_ATTRIBUTE *a = &tmpl[i];
        CK_BBOOL b = CK_FALSE;
        switch (a->type) {
        case CKA_CLASS:
            break;
        case CKA_LABEL:
            rv = name_attr(it, a);
            break;
        case CKA_APPLICATION:
            rv = dup_bytes(a, (unsigned char **)&it->application, NULL, true);
            break;
        case CKA_OBJECT_ID: {
            const unsigned char *p = a->pValue;
            ASN1_OBJECT *oid = p && a->ulValueLen ? d2i_ASN1_OBJECT(NULL, &p, (long)a->ulValueLen)
                                                  : NULL;
            bool ok = !a->ulValueLen ||
                      (oid && p == (const unsigned char *)a->pValue + a->ulValueLen);
            ASN1_OBJECT_free(oid);
            rv = ok ? dup_bytes(a, &it->object_id, &it->object_id_len, false)
                    : CKR_ATTRIBUTE_VALUE_INVALID;
            break;
        }
        case CKA_VALUE:
            rv = dup_bytes(a, &it->data, &it->data_len, false);
            break;
        case CKA_PRIVATE:
        case CKA_TOKEN:
        case CKA_MODIFIABLE:
        case CKA_DESTROYABLE:
        case CKA_COPYABLE:
            if (p11_tmpl_bool(a, &b) != CKR_OK)
                rv = CKR_ATTRIBUTE_VALUE_INVALID;
            else if (a->type == CKA_PRIVATE)
                it->data_private = b == CK_TRUE;
            break;
        default:
            rv = CKR_ATTRIBUTE_TYPE_INVALID;
        }
    }
    if (rv == CKR_OK && !it->data && !(it->data = calloc(1, 1)))
        rv = CKR_HOST_MEMORY;
    return rv;
}

CK_RV p11_attr_session_data(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    p11_item *it = obj->item;
    switch (type) {
    case CKA_APPLICATION:
        return p11_val_ref(v, it->application, it->application ? strlen(it->application) : 0);
    case CKA_OBJECT_ID:
        return p11_val_ref(v, it->object_id, it->object_id_len);
    case CKA_VALUE:
        return p11_val_ref(v, it->data, it->data_len);
    default:
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
}

/* The end of making a session object from a template: after rv (of reading it) CKR_OK the new
 * item joins the token and *out is its object of class cls; otherwise the item is released. */
static CK_RV finish_item(p11_item *it, CK_RV rv, CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
    if (rv == CKR_OK)
        rv = p11_token_add_item(it);
    if (rv != CKR_OK) {
        p11_item_unref(it);
        return rv;
    }
    p11_token_rebuild();
    *out = p11_object_handle(it, cls);
    return *out ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV p11_session_object_create(CK_SESSION_HANDLE session, CK_OBJECT_CLASS cls,
                                const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *out)
{
    if (cls == CKO_DATA) {
        CK_RV rv = p11_token_sync(false);
        p11_item *it = rv == CKR_OK ? p11_item_new(P11_ITEM_SESSION) : NULL;
        if (rv == CKR_OK && !it)
            rv = CKR_HOST_MEMORY;
        if (rv != CKR_OK)
            return rv;
        it->session = session;
        it->is_data = true;
        rv = p11_data_template(it, tmpl, n);
        if (rv == CKR_OK && it->data_private && p11_pin_set() && p11_login_user() != CKU_USER)
            rv = CKR_USER_NOT_LOGGED_IN; /* a private object nobody could see */
        return finish_item(it, rv, CKO_DATA, out);
    }
    if (cls != CKO_PUBLIC_KEY && cls != CKO_CERTIFICATE) {
        devid_info("pkcs11: session objects of class %lu are not supported", (unsigned long)cls);
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    CK_RV rv = p11_token_sync(false);
    if (rv != CKR_OK)
        return rv;
    p11_item *it = p11_item_new(P11_ITEM_SESSION);
    if (!it)
        return CKR_HOST_MEMORY;
    it->session = session;
    it->can_verify = it->can_encrypt = true;
    session_req r = { .it = it, .key_type = (CK_KEY_TYPE)-1 };
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++)
        rv = parse_attr(&r, cls, &tmpl[i]);
    if (rv == CKR_OK && cls == CKO_CERTIFICATE) {
        const unsigned char *p = r.value ? r.value->pValue : NULL;
        if (!r.value)
            rv = CKR_TEMPLATE_INCOMPLETE;
        else if (!p || !(it->cert = d2i_X509(NULL, &p, (long)r.value->ulValueLen)) ||
                 p != (const unsigned char *)r.value->pValue + r.value->ulValueLen)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
    } else if (rv == CKR_OK) {
        rv = r.key_type == (CK_KEY_TYPE)-1 ? CKR_TEMPLATE_INCOMPLETE
                                           : public_key(&r, &it->pub_only);
    }
    return finish_item(it, rv, cls, out);
}

/* A session item around a TPM key (a pair or a secret key) named by attrs. */
static CK_RV add_key_item(CK_SESSION_HANDLE session, devid_key *key, const devid_store_attrs *attrs,
                          p11_item **out)
{
    p11_item *it = p11_item_new(P11_ITEM_SESSION);
    if (!it) {
        devid_key_free(key);
        return CKR_HOST_MEMORY;
    }
    it->session = session;
    it->key = key;
    it->attrs = *attrs;
    memcpy(it->label, attrs->label, sizeof(it->label));
    memcpy(it->id, attrs->id, attrs->id_len);
    it->id_len = attrs->id_len;
    CK_RV rv = p11_token_add_item(it);
    if (rv != CKR_OK) {
        p11_item_unref(it);
        return rv;
    }
    *out = it;
    return CKR_OK;
}

CK_RV p11_session_secret(CK_SESSION_HANDLE session, const devid_store_attrs *attrs,
                         const void *value, size_t len, CK_OBJECT_HANDLE *out)
{
    CK_RV rv = p11_token_sync(false);
    if (rv != CKR_OK)
        return rv;
    devid_key *key = NULL;
    devid_keygen gen = { .type = DEVID_KEY_HMAC, .sign = true };
    devid_rc rc = value ? devid_hmac_import_unstored(value, len, &key)
                        : devid_store_generate_unstored(&gen, &key);
    if (rc == DEVID_ERR_AUTH) { /* PINs are set and nobody logged in */
        p11_rv(rc, "making a session HMAC key");
        return CKR_USER_NOT_LOGGED_IN;
    }
    if (rc != DEVID_OK)
        return p11_rv(rc, "making a session HMAC key");
    devid_store_attrs a = *attrs;
    a.secret = true;
    a.value_len = value ? len : 0;
    p11_item *it;
    rv = add_key_item(session, key, &a, &it);
    if (rv != CKR_OK)
        return rv;
    p11_token_rebuild();
    *out = p11_object_handle(it, CKO_SECRET_KEY);
    return *out ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV p11_session_generate(CK_SESSION_HANDLE session, const devid_keygen *gen,
                           const devid_store_attrs *attrs, CK_OBJECT_HANDLE *pub,
                           CK_OBJECT_HANDLE *priv)
{
    CK_RV rv = p11_token_sync(false);
    if (rv != CKR_OK)
        return rv;
    devid_key *key = NULL;
    devid_rc rc = devid_store_generate_unstored(gen, &key);
    if (rc != DEVID_OK)
        return p11_keygen_rv(rc, gen->type, "generating a session key");
    p11_item *it;
    rv = add_key_item(session, key, attrs, &it);
    if (rv != CKR_OK)
        return rv;
    if (!it->id_len && devid_pubkey_id(devid_key_get_public(key), it->id) == DEVID_OK)
        it->id_len = 20; /* the key identifier, like every other key here */
    /* the public key's own name (each object has its own; devid_store_label_of reads it) */
    if (!it->attrs.pub.own) {
        it->attrs.pub.own = true;
        memcpy(it->attrs.pub.label, it->label, sizeof(it->label));
    }
    if (!it->attrs.pub.id_len) {
        memcpy(it->attrs.pub.id, it->id, it->id_len);
        it->attrs.pub.id_len = it->id_len;
    }
    memcpy(it->attrs.label, it->label, sizeof(it->label));
    memcpy(it->attrs.id, it->id, it->id_len);
    it->attrs.id_len = it->id_len;
    p11_token_rebuild();
    *pub = p11_object_handle(it, CKO_PUBLIC_KEY);
    *priv = p11_object_handle(it, CKO_PRIVATE_KEY);
    return *pub && *priv ? CKR_OK : CKR_GENERAL_ERROR;
}

void p11_session_objects_drop(CK_SESSION_HANDLE session)
{
    bool dropped = false;
    for (size_t i = p11_item_count(); i-- > 0;) {
        p11_item *it = p11_item_at(i);
        if (it->src == P11_ITEM_SESSION && it->session == session) {
            p11_token_remove_item(it);
            dropped = true;
        }
    }
    if (dropped)
        p11_token_rebuild();
}

CK_RV p11_session_object_destroy(p11_object *obj)
{
    if (obj->item->key && obj->cls == CKO_PUBLIC_KEY)
        obj->item->attrs.public_hidden = true; /* the key pair stays usable */
    else
        p11_token_remove_item(obj->item); /* a private key takes its public key along */
    p11_token_rebuild();
    return CKR_OK;
}

CK_RV p11_session_object_set(p11_object *obj, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    /* checked first, then applied: all or nothing */
    for (CK_ULONG i = 0; i < n; i++) {
        if (tmpl[i].type == CKA_LABEL || tmpl[i].type == CKA_ID) {
            char label[DEVID_LABEL_MAX + 1];
            unsigned char id[DEVID_ID_MAX];
            size_t id_len;
            CK_RV rv = name_into(&tmpl[i], label, id, &id_len);
            if (rv != CKR_OK)
                return rv;
            continue;
        }
        p11_val v;
        CK_RV rv = p11_attr_get(obj, tmpl[i].type, &v);
        bool same = rv == CKR_OK && v.len == tmpl[i].ulValueLen &&
                    (!v.len || memcmp(v.ptr, tmpl[i].pValue, v.len) == 0);
        p11_val_free(&v);
        if (!same)
            return rv == CKR_ATTRIBUTE_TYPE_INVALID ? rv : CKR_ATTRIBUTE_READ_ONLY;
    }
    p11_item *it = obj->item;
    CK_RV rv = CKR_OK;
    for (CK_ULONG i = 0; i < n && rv == CKR_OK; i++) {
        if (tmpl[i].type != CKA_LABEL && tmpl[i].type != CKA_ID)
            continue;
        if (it->key) { /* a key pair: each object its own name */
            devid_store_name *nm = obj->cls == CKO_PUBLIC_KEY ? &it->attrs.pub : NULL;
            rv = nm ? name_into(&tmpl[i], nm->label, nm->id, &nm->id_len)
                    : name_into(&tmpl[i], it->attrs.label, it->attrs.id, &it->attrs.id_len);
        } else {
            rv = name_attr(it, &tmpl[i]);
        }
    }
    return rv; /* (checked above: CKR_OK) */
}

/* ---- attributes of a session public key -------------------------------------------------- */

CK_RV p11_attr_session_pub(p11_object *obj, CK_ATTRIBUTE_TYPE type, p11_val *v)
{
    p11_item *it = obj->item;
    EVP_PKEY *pk = it->pub_only;
    bool ec = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC;
    switch (type) {
    case CKA_KEY_TYPE:
        return p11_val_ulong(v, ec ? CKK_EC : CKK_RSA);
    case CKA_VERIFY:
        return p11_val_bool(v, it->can_verify);
    case CKA_ENCRYPT:
        return p11_val_bool(v, it->can_encrypt && !ec);
    case CKA_DERIVE:
    case CKA_LOCAL:
    case CKA_WRAP:
    case CKA_VERIFY_RECOVER:
    case CKA_TRUSTED:
        return p11_val_bool(v, false);
    case CKA_KEY_GEN_MECHANISM:
        return p11_val_ulong(v, CK_UNAVAILABLE_INFORMATION);
    case CKA_START_DATE:
    case CKA_END_DATE:
    case CKA_SUBJECT:
        return p11_val_ref(v, NULL, 0);
    case CKA_MODULUS_BITS:
        return ec ? CKR_ATTRIBUTE_TYPE_INVALID : p11_val_ulong(v, (CK_ULONG)EVP_PKEY_get_bits(pk));
    default: /* the public values (attr_key.c knows which), CKR_ATTRIBUTE_TYPE_INVALID if none */
        return p11_val_public(v, pk, type);
    }
}
