/* SPDX-License-Identifier: Apache-2.0 */
/* The mechanism registry (the tables live next to their functions in mech_*.c), the
 * mechanism list / info entry points, and what every operation shares: parameters, key
 * binding, input collection, the two-call output convention. */
#include "p11.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const p11_mech *table;
    const size_t *count;
} tables[] = {
    { p11_mech_ecdsa, &p11_mech_ecdsa_count },   { p11_mech_rsa, &p11_mech_rsa_count },
    { p11_mech_digest, &p11_mech_digest_count }, { p11_mech_keygen, &p11_mech_keygen_count },
    { p11_mech_derive, &p11_mech_derive_count }, { p11_mech_hmac, &p11_mech_hmac_count },
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

static const p11_mech *lookup(CK_MECHANISM_TYPE type)
{
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; i < *tables[t].count; i++)
            if (tables[t].table[i].type == type)
                return &tables[t].table[i];
    return NULL;
}

const p11_mech *p11_mech_find(CK_MECHANISM_TYPE type, CK_FLAGS flag)
{
    const p11_mech *m = lookup(type);
    return m && (m->flags & flag) ? m : NULL;
}

/* Whether the mechanism is offered on this TPM: an RSA signature mechanism bound to a hash
 * only if the TPM implements that hash (many have SHA-1 and SHA-256 only). A key that allows
 * raw RSA still signs with the others (core encodes in software): C_SignInit decides per key. */
static CK_RV offered(const p11_mech *m, bool *ok)
{
    *ok = true;
    if (m->key_type != CKK_RSA || !m->hash_nid || !(m->flags & CKF_SIGN))
        return CKR_OK;
    devid_rc rc = devid_tpm_hash_implemented(m->hash_nid, ok);
    return rc == DEVID_OK ? CKR_OK : p11_rv(rc, "asking the TPM for its hashes");
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    CK_RV rv = p11_enter_slot(slotID, pulCount != NULL, true);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n = 0, k = 0;
    bool room = pMechanismList != NULL;
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; i < *tables[t].count; i++) {
            bool ok = true;
            if ((rv = offered(&tables[t].table[i], &ok)) != CKR_OK)
                return p11_leave(rv);
            if (!ok)
                continue;
            if (room && n < *pulCount)
                pMechanismList[k++] = tables[t].table[i].type;
            n++;
        }
    if (!pMechanismList) {
        *pulCount = n;
        return p11_leave(CKR_OK);
    }
    if (*pulCount < n) {
        *pulCount = n;
        return p11_leave(CKR_BUFFER_TOO_SMALL);
    }
    *pulCount = n;
    return p11_leave(CKR_OK);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv = p11_enter_slot(slotID, pInfo != NULL, true);
    if (rv != CKR_OK)
        return rv;
    const p11_mech *m = lookup(type);
    bool ok = false;
    if (m && (rv = offered(m, &ok)) != CKR_OK)
        return p11_leave(rv);
    if (!m || !ok)
        return p11_leave(CKR_MECHANISM_INVALID);
    pInfo->ulMinKeySize = m->min_bits;
    pInfo->ulMaxKeySize = m->max_bits;
    pInfo->flags = m->flags;
    /* Key sizes: the mechanism's, within what this TPM accepts (TPM2_TestParms). */
    unsigned lo = 0, hi = 0;
    if (m->key_type == CKK_EC || m->key_type == CKK_RSA) {
        devid_rc rc = devid_tpm_key_sizes(m->key_type == CKK_EC ? DEVID_KEY_EC : DEVID_KEY_RSA, &lo,
                                          &hi);
        if (rc == DEVID_OK) {
            if (lo > pInfo->ulMinKeySize)
                pInfo->ulMinKeySize = lo;
            if (hi < pInfo->ulMaxKeySize)
                pInfo->ulMaxKeySize = hi;
        } else if (rc != DEVID_ERR_UNSUPPORTED) {
            return p11_leave(p11_rv(rc, "asking the TPM for its key sizes"));
        } else {
            pInfo->ulMinKeySize = pInfo->ulMaxKeySize = 0; /* none of this type at all */
        }
    }
    return p11_leave(CKR_OK);
}

bool p11_mech_allowed(const p11_mech *m, devid_key *key)
{
    if (m->key_type != p11_key_type(key))
        return false;
    CK_ULONG bits = (CK_ULONG)devid_key_get_bits(key);
    if (bits < m->min_bits || bits > m->max_bits)
        return false;
    /* Raw RSA (X.509) is the TPM's decryption primitive: only keys that may decrypt. */
    if (m->needs_raw && !p11_key_can_decrypt(key))
        return false;
    return ((m->flags & CKF_SIGN) && p11_key_can_sign(key)) ||
           ((m->flags & CKF_DECRYPT) && p11_key_can_decrypt(key)) ||
           ((m->flags & CKF_DERIVE) && p11_key_can_derive(key));
}

/* CKA_ALLOWED_MECHANISMS: an RSA signature mechanism whose hash the TPM lacks only for a key
 * that allows raw RSA (as C_SignInit decides). A TPM error leaves it listed (C_SignInit
 * reports it). */
static bool signs_on_this_tpm(const p11_mech *m, devid_key *key)
{
    bool ok = true;
    if (m->key_type == CKK_RSA && m->hash_nid && (m->flags & CKF_SIGN) &&
        devid_key_sign_hash_ok(key, DEVID_SIG_RSA_PKCS1, m->hash_nid, &ok) != DEVID_OK)
        return true;
    return ok;
}

size_t p11_mech_allowed_list(devid_key *key, CK_MECHANISM_TYPE *out, size_t max)
{
    size_t n = 0;
    for (size_t t = 0; t < N_TABLES; t++)
        for (size_t i = 0; i < *tables[t].count; i++) {
            const p11_mech *m = &tables[t].table[i];
            if (!(m->flags & (CKF_GENERATE_KEY_PAIR | CKF_GENERATE)) && p11_mech_allowed(m, key) &&
                signs_on_this_tpm(m, key)) {
                if (out && n < max)
                    out[n] = m->type;
                n++;
            }
        }
    return n;
}

/* ---- operations ------------------------------------------------------------------------------ */

CK_RV p11_mech_param(const CK_MECHANISM *m, size_t size)
{
    return m->pParameter && m->ulParameterLen == size ? CKR_OK : CKR_MECHANISM_PARAM_INVALID;
}

CK_RV p11_op_new(const p11_mech *mech, const CK_MECHANISM *m, CK_FLAGS purpose, p11_op **out)
{
    p11_op *op = calloc(1, sizeof(*op));
    if (!op)
        return CKR_HOST_MEMORY;
    op->mech = mech;
    op->purpose = purpose;
    op->md_nid = mech->hash_nid;
    CK_RV rv = CKR_OK;
    if (mech->param)
        rv = mech->param(op, m);
    else if (m->pParameter || m->ulParameterLen)
        rv = CKR_MECHANISM_PARAM_INVALID;
    if (rv == CKR_OK && mech->hash_nid) {
        const EVP_MD *md = p11_md_get(mech->hash_nid);
        if (!(op->md = EVP_MD_CTX_new()))
            rv = CKR_HOST_MEMORY;
        else if (!md || EVP_DigestInit_ex(op->md, md, NULL) != 1)
            rv = CKR_MECHANISM_INVALID;
    }
    if (rv != CKR_OK) {
        p11_op_free(op);
        return rv;
    }
    *out = op;
    return CKR_OK;
}

void p11_op_free(p11_op *op)
{
    if (!op)
        return;
    p11_item_unref(op->item);
    EVP_MD_CTX_free(op->md);
    if (op->buf)
        OPENSSL_cleanse(op->buf, op->cap);
    free(op->buf);
    free(op->label);
    free(op->peer);
    if (op->result)
        OPENSSL_cleanse(op->result, op->result_len);
    free(op->result);
    free(op);
}

CK_RV p11_op_append(p11_op *op, const unsigned char *in, size_t len)
{
    if (!len)
        return CKR_OK;
    if (op->len + len > P11_MAX_DATA)
        return CKR_DATA_LEN_RANGE;
    if (op->len + len > op->cap) {
        size_t cap = op->len + len < 256 ? 256 : 2 * (op->len + len);
        unsigned char *n = malloc(cap);
        if (!n)
            return CKR_HOST_MEMORY;
        if (op->buf) {
            memcpy(n, op->buf, op->len);
            OPENSSL_cleanse(op->buf, op->cap);
            free(op->buf);
        }
        op->buf = n;
        op->cap = cap;
    }
    memcpy(op->buf + op->len, in, len);
    op->len += len;
    return CKR_OK;
}

static CK_RV attr_bool(p11_object *obj, CK_ATTRIBUTE_TYPE type, bool *out)
{
    p11_val v;
    CK_RV rv = p11_attr_get(obj, type, &v);
    if (rv == CKR_OK)
        *out = v.len == sizeof(CK_BBOOL) && *(const CK_BBOOL *)v.ptr == CK_TRUE;
    p11_val_free(&v);
    return rv;
}

/* A session public key (software only): its type, size and usage attribute decide. */
static CK_RV bind_session_pub(p11_op *op, p11_object *obj, CK_OBJECT_CLASS cls,
                              CK_ATTRIBUTE_TYPE usage)
{
    EVP_PKEY *pk = obj->item->pub_only;
    if (cls != CKO_PUBLIC_KEY || !pk)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    CK_KEY_TYPE kt = EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? CKK_EC : CKK_RSA;
    if (kt != op->mech->key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    bool allowed = false;
    CK_RV rv = attr_bool(obj, usage, &allowed);
    if (rv != CKR_OK || !allowed)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    CK_ULONG bits = (CK_ULONG)EVP_PKEY_get_bits(pk);
    if (bits < op->mech->min_bits || bits > op->mech->max_bits)
        return CKR_KEY_SIZE_RANGE;
    op->item = obj->item;
    p11_item_ref(obj->item);
    op->pub = pk;
    return CKR_OK;
}

/* A signature with a hash the TPM lacks: only by a key that allows raw RSA (core decides). */
static CK_RV sign_hash_ok(const p11_op *op, devid_key *key)
{
    bool ok = true;
    devid_rc rc = devid_key_sign_hash_ok(key, DEVID_SIG_RSA_PKCS1, op->md_nid, &ok);
    if (rc != DEVID_OK)
        return p11_rv(rc, "asking the TPM for its hashes");
    if (!ok)
        devid_info("pkcs11: %s: the TPM does not implement %s and the key does not allow raw "
                   "RSA",
                   op->mech->name, OBJ_nid2sn(op->md_nid));
    return ok ? CKR_OK : CKR_MECHANISM_INVALID;
}

CK_RV p11_op_bind_key(p11_op *op, CK_OBJECT_HANDLE h, CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage)
{
    p11_object *obj = p11_object_get(h);
    /* A store secret key (HMAC in the TPM) serves both directions. */
    bool secret = obj && obj->cls == CKO_SECRET_KEY && obj->item;
    if (!obj || (obj->cls != CKO_PRIVATE_KEY && obj->cls != CKO_PUBLIC_KEY && !secret))
        return CKR_KEY_HANDLE_INVALID;
    if (secret)
        cls = CKO_SECRET_KEY;
    else if (obj->cls != cls)
        return CKR_KEY_FUNCTION_NOT_PERMITTED; /* e.g. signing with a public key */
    p11_item *it = obj->item;
    if (it->src == P11_ITEM_SESSION && it->pub_only)
        return bind_session_pub(op, obj, cls, usage);
    devid_key *key = NULL;
    CK_RV rv = p11_item_key(it, &key);
    if (rv != CKR_OK)
        return rv;
    if (p11_key_type(key) != op->mech->key_type)
        return CKR_KEY_TYPE_INCONSISTENT;
    bool allowed = false;
    rv = attr_bool(obj, usage, &allowed);
    if (rv != CKR_OK)
        return rv == CKR_ATTRIBUTE_TYPE_INVALID ? CKR_KEY_FUNCTION_NOT_PERMITTED : rv;
    if (!allowed)
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    CK_ULONG bits = (CK_ULONG)devid_key_get_bits(key);
    if (bits < op->mech->min_bits || bits > op->mech->max_bits)
        return CKR_KEY_SIZE_RANGE;
    if (!p11_mech_allowed(op->mech, key))
        return CKR_MECHANISM_INVALID; /* not in the key's CKA_ALLOWED_MECHANISMS */
    if (op->purpose == CKF_SIGN && op->md_nid && (rv = sign_hash_ok(op, key)) != CKR_OK)
        return rv;
    if (cls != CKO_PUBLIC_KEY && (rv = p11_key_auth(key)) != CKR_OK)
        return rv;
    op->item = it;
    p11_item_ref(it);
    if (cls != CKO_PUBLIC_KEY)
        op->key = key;
    else if (!(op->pub = devid_key_get_public(key)))
        return CKR_GENERAL_ERROR;
    return CKR_OK;
}

EVP_PKEY *p11_op_pub(const p11_op *op)
{
    p11_op *o = (p11_op *)op; /* a cache: the key's public part does not change */
    if (!o->pub && o->key)
        o->pub = devid_key_get_public(o->key);
    return o->pub;
}

CK_RV p11_op_init(p11_op **slot, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE key, CK_FLAGS flag,
                  CK_OBJECT_CLASS cls, CK_ATTRIBUTE_TYPE usage)
{
    if (!m)
        return CKR_ARGUMENTS_BAD;
    if (*slot)
        return CKR_OPERATION_ACTIVE;
    const p11_mech *mech = p11_mech_find(m->mechanism, flag);
    if (!mech || mech->key_type == (CK_KEY_TYPE)P11_KEY_NONE)
        return CKR_MECHANISM_INVALID;
    p11_op *op = NULL;
    CK_RV rv = p11_op_new(mech, m, flag, &op);
    if (rv != CKR_OK)
        return rv;
    rv = p11_op_bind_key(op, key, cls, usage);
    if (rv != CKR_OK) {
        devid_debug("pkcs11: %s with key %lu: 0x%lx", mech->name, (unsigned long)key,
                    (unsigned long)rv);
        p11_op_free(op);
        return rv;
    }
    *slot = op;
    return CKR_OK;
}

CK_RV p11_out_check(const void *out, CK_ULONG_PTR outlen, size_t need, bool *done)
{
    *done = false;
    if (!out) {
        *outlen = need;
        return CKR_OK;
    }
    if (*outlen < need) {
        *outlen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    *done = true;
    return CKR_OK;
}
