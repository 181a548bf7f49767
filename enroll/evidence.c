/* SPDX-License-Identifier: Apache-2.0 */
/* The id-aa-evidence attribute's value (evidence.h), with OpenSSL's ASN.1 templates. */
#include "evidence.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* OpenSSL's ASN.1 template macros, left as OpenSSL writes them */
/* clang-format off */
typedef struct {
    ASN1_OCTET_STRING *attest;
    ASN1_OCTET_STRING *signature;
    ASN1_OCTET_STRING *public_area;
} TPM_CERTIFY_STMT;

ASN1_SEQUENCE(TPM_CERTIFY_STMT) = {
    ASN1_SIMPLE(TPM_CERTIFY_STMT, attest, ASN1_OCTET_STRING),
    ASN1_SIMPLE(TPM_CERTIFY_STMT, signature, ASN1_OCTET_STRING),
    ASN1_OPT(TPM_CERTIFY_STMT, public_area, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(TPM_CERTIFY_STMT)

typedef struct {
    ASN1_OBJECT *type;
    ASN1_TYPE *stmt;
    ASN1_UTF8STRING *hint;
} EVIDENCE_STMT;

ASN1_SEQUENCE(EVIDENCE_STMT) = {
    ASN1_SIMPLE(EVIDENCE_STMT, type, ASN1_OBJECT),
    ASN1_SIMPLE(EVIDENCE_STMT, stmt, ASN1_ANY),
    ASN1_OPT(EVIDENCE_STMT, hint, ASN1_UTF8STRING),
} static_ASN1_SEQUENCE_END(EVIDENCE_STMT)

DEFINE_STACK_OF(EVIDENCE_STMT)

typedef struct {
    STACK_OF(EVIDENCE_STMT) *evidences;
    STACK_OF(X509) *certs;
} EVIDENCE_BUNDLE;

ASN1_SEQUENCE(EVIDENCE_BUNDLE) = {
    ASN1_SEQUENCE_OF(EVIDENCE_BUNDLE, evidences, EVIDENCE_STMT),
    ASN1_SEQUENCE_OF_OPT(EVIDENCE_BUNDLE, certs, X509),
} static_ASN1_SEQUENCE_END(EVIDENCE_BUNDLE)

DEFINE_STACK_OF(EVIDENCE_BUNDLE)
typedef STACK_OF(EVIDENCE_BUNDLE) EVIDENCE_BUNDLES;

ASN1_ITEM_TEMPLATE(EVIDENCE_BUNDLES) =
    ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SEQUENCE_OF, 0, EvidenceBundles, EVIDENCE_BUNDLE)
static_ASN1_ITEM_TEMPLATE_END(EVIDENCE_BUNDLES)

static ASN1_OCTET_STRING *octets(const unsigned char *data, size_t len);
/* clang-format on */

devid_rc evidence_qualifying_data(EVP_PKEY *key, const X509_NAME *subject,
                                  unsigned char out[EVIDENCE_QUALIFYING_LEN])
{
    unsigned char *spki = NULL;
    const unsigned char *name = NULL;
    size_t name_len = 0;
    int spki_len = key ? i2d_PUBKEY(key, &spki) : -1;
    devid_rc rc = DEVID_OK;
    if (spki_len <= 0 || !subject || X509_NAME_get0_der(subject, &name, &name_len) != 1)
        rc = devid_fail(DEVID_ERR_ARG, "cannot encode the request's key and subject");
    EVP_MD_CTX *md = rc == DEVID_OK ? EVP_MD_CTX_new() : NULL;
    unsigned int n = 0;
    if (rc == DEVID_OK && (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
                           EVP_DigestUpdate(md, spki, (size_t)spki_len) != 1 ||
                           EVP_DigestUpdate(md, name, name_len) != 1 ||
                           EVP_DigestFinal_ex(md, out, &n) != 1 || n != EVIDENCE_QUALIFYING_LEN))
        rc = devid_fail(DEVID_ERR_INTERNAL, "hashing the request's key and subject");
    EVP_MD_CTX_free(md);
    OPENSSL_free(spki);
    ERR_clear_error();
    return rc;
}

static ASN1_OCTET_STRING *octets(const unsigned char *data, size_t len)
{
    ASN1_OCTET_STRING *s = ASN1_OCTET_STRING_new();
    if (s && (len > INT32_MAX || ASN1_OCTET_STRING_set(s, data, (int)len) != 1)) {
        ASN1_OCTET_STRING_free(s);
        s = NULL;
    }
    return s;
}

/* One bundle: the certify statement and the certificates. */
static EVIDENCE_BUNDLE *make_bundle(const evidence_tpm_certify *c, X509 *iak_cert,
                                    STACK_OF(X509) *chain)
{
    TPM_CERTIFY_STMT *tpm = (TPM_CERTIFY_STMT *)ASN1_item_new(ASN1_ITEM_rptr(TPM_CERTIFY_STMT));
    EVIDENCE_STMT *st = (EVIDENCE_STMT *)ASN1_item_new(ASN1_ITEM_rptr(EVIDENCE_STMT));
    EVIDENCE_BUNDLE *b = (EVIDENCE_BUNDLE *)ASN1_item_new(ASN1_ITEM_rptr(EVIDENCE_BUNDLE));
    bool ok = tpm && st && b;
    if (ok) {
        ASN1_OCTET_STRING_free(tpm->attest);
        ASN1_OCTET_STRING_free(tpm->signature);
        tpm->attest = octets(c->attest, c->attest_len);
        tpm->signature = octets(c->signature, c->signature_len);
        tpm->public_area = octets(c->public_area, c->public_len);
        ok = tpm->attest && tpm->signature && tpm->public_area;
    }
    if (ok) {
        ASN1_OBJECT_free(st->type);
        ASN1_TYPE_free(st->stmt);
        st->stmt = NULL;
        st->type = OBJ_txt2obj(EVIDENCE_TPM_CERTIFY_OID, 1);
        ok = st->type &&
             ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(TPM_CERTIFY_STMT), tpm, &st->stmt) != NULL;
    }
    if (ok)
        ok = sk_EVIDENCE_STMT_push(b->evidences, st) > 0;
    if (ok)
        st = NULL; /* the bundle's now */
    if (ok) {
        b->certs = sk_X509_new_null();
        ok = b->certs != NULL;
    }
    for (int i = -1; ok && i < sk_X509_num(chain); i++) {
        X509 *x = i < 0 ? iak_cert : sk_X509_value(chain, i);
        ok = X509_up_ref(x) == 1;
        if (ok && sk_X509_push(b->certs, x) <= 0) {
            X509_free(x);
            ok = false;
        }
    }
    ASN1_item_free((ASN1_VALUE *)tpm, ASN1_ITEM_rptr(TPM_CERTIFY_STMT));
    ASN1_item_free((ASN1_VALUE *)st, ASN1_ITEM_rptr(EVIDENCE_STMT));
    if (!ok) {
        ASN1_item_free((ASN1_VALUE *)b, ASN1_ITEM_rptr(EVIDENCE_BUNDLE));
        b = NULL;
    }
    return b;
}

devid_rc evidence_encode(const evidence_tpm_certify *certify, X509 *iak_cert, STACK_OF(X509) *chain,
                         unsigned char **der, size_t *len)
{
    *der = NULL;
    *len = 0;
    if (!certify || !iak_cert || !certify->attest || !certify->signature || !certify->public_area)
        return devid_fail(DEVID_ERR_ARG, "evidence_encode: missing part");
    EVIDENCE_BUNDLES *all = sk_EVIDENCE_BUNDLE_new_null();
    EVIDENCE_BUNDLE *b = all ? make_bundle(certify, iak_cert, chain) : NULL;
    devid_rc rc = DEVID_OK;
    if (!b || sk_EVIDENCE_BUNDLE_push(all, b) <= 0) {
        ASN1_item_free((ASN1_VALUE *)b, ASN1_ITEM_rptr(EVIDENCE_BUNDLE));
        rc = devid_fail(DEVID_ERR_MEMORY, "building the evidence attribute");
    }
    int n = rc == DEVID_OK ? ASN1_item_i2d((ASN1_VALUE *)all, der, ASN1_ITEM_rptr(EVIDENCE_BUNDLES))
                           : -1;
    if (rc == DEVID_OK && n <= 0)
        rc = devid_fail(DEVID_ERR_INTERNAL, "encoding the evidence attribute");
    if (rc == DEVID_OK)
        *len = (size_t)n;
    ASN1_item_free((ASN1_VALUE *)all, ASN1_ITEM_rptr(EVIDENCE_BUNDLES));
    ERR_clear_error();
    return rc;
}

static devid_rc copy_octets(const ASN1_OCTET_STRING *s, unsigned char **out, size_t *len)
{
    int n = s ? ASN1_STRING_length(s) : 0;
    if (n <= 0)
        return devid_fail(DEVID_ERR_FORMAT, "evidence: an empty TPM structure");
    *out = malloc((size_t)n);
    if (!*out)
        return devid_fail(DEVID_ERR_MEMORY, "out of memory");
    memcpy(*out, ASN1_STRING_get0_data(s), (size_t)n);
    *len = (size_t)n;
    return DEVID_OK;
}

/* The TPM statement of a bundle, if it has one. */
static devid_rc bundle_statement(const EVIDENCE_BUNDLE *b, const ASN1_OBJECT *want,
                                 evidence_tpm_certify *out, bool *found)
{
    for (int i = 0; i < sk_EVIDENCE_STMT_num(b->evidences); i++) {
        const EVIDENCE_STMT *st = sk_EVIDENCE_STMT_value(b->evidences, i);
        if (OBJ_cmp(st->type, want) != 0)
            continue;
        if (ASN1_TYPE_get(st->stmt) != V_ASN1_SEQUENCE)
            return devid_fail(DEVID_ERR_FORMAT, "evidence: the TPM statement is not a SEQUENCE");
        TPM_CERTIFY_STMT *tpm = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(TPM_CERTIFY_STMT),
                                                          st->stmt);
        if (!tpm)
            return devid_fail(DEVID_ERR_FORMAT, "evidence: malformed TPM certify statement");
        devid_rc rc = copy_octets(tpm->attest, &out->attest, &out->attest_len);
        if (rc == DEVID_OK)
            rc = copy_octets(tpm->signature, &out->signature, &out->signature_len);
        if (rc == DEVID_OK)
            rc = copy_octets(tpm->public_area, &out->public_area, &out->public_len);
        ASN1_item_free((ASN1_VALUE *)tpm, ASN1_ITEM_rptr(TPM_CERTIFY_STMT));
        *found = rc == DEVID_OK;
        return rc;
    }
    return DEVID_OK;
}

devid_rc evidence_decode(const unsigned char *der, size_t len, evidence_tpm_certify *certify,
                         STACK_OF(X509) **certs)
{
    memset(certify, 0, sizeof(*certify));
    *certs = NULL;
    if (!der || len == 0 || len > INT32_MAX)
        return devid_fail(DEVID_ERR_FORMAT, "evidence: empty");
    const unsigned char *p = der;
    EVIDENCE_BUNDLES *all = (EVIDENCE_BUNDLES *)ASN1_item_d2i(NULL, &p, (long)len,
                                                              ASN1_ITEM_rptr(EVIDENCE_BUNDLES));
    ASN1_OBJECT *want = OBJ_txt2obj(EVIDENCE_TPM_CERTIFY_OID, 1);
    devid_rc rc = DEVID_OK;
    if (!all || p != der + len)
        rc = devid_fail(DEVID_ERR_FORMAT, "evidence: not a DER EvidenceBundles");
    else if (!want)
        rc = devid_fail(DEVID_ERR_MEMORY, "out of memory");
    bool found = false;
    for (int i = 0; rc == DEVID_OK && !found && i < sk_EVIDENCE_BUNDLE_num(all); i++) {
        const EVIDENCE_BUNDLE *b = sk_EVIDENCE_BUNDLE_value(all, i);
        rc = bundle_statement(b, want, certify, &found);
        if (rc == DEVID_OK && found) {
            *certs = b->certs ? X509_chain_up_ref(b->certs) : sk_X509_new_null();
            if (!*certs)
                rc = devid_fail(DEVID_ERR_MEMORY, "out of memory");
        }
    }
    if (rc == DEVID_OK && !found)
        rc = devid_fail(DEVID_ERR_FORMAT, "evidence: no TPM certify statement (%s)",
                        EVIDENCE_TPM_CERTIFY_OID);
    if (rc != DEVID_OK) {
        evidence_tpm_certify_clear(certify);
        sk_X509_pop_free(*certs, X509_free);
        *certs = NULL;
    }
    ASN1_OBJECT_free(want);
    ASN1_item_free((ASN1_VALUE *)all, ASN1_ITEM_rptr(EVIDENCE_BUNDLES));
    ERR_clear_error();
    return rc;
}

void evidence_tpm_certify_clear(evidence_tpm_certify *c)
{
    if (!c)
        return;
    free(c->attest);
    free(c->signature);
    free(c->public_area);
    memset(c, 0, sizeof(*c));
}
