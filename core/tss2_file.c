/* SPDX-License-Identifier: Apache-2.0 */
#include "tss2_file.h"

#include <openssl/asn1t.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <string.h>
#include <tss2/tss2_mu.h>

/* TPMKey ::= SEQUENCE { type OID, emptyAuth [0] EXPLICIT BOOLEAN OPTIONAL,
 *   policy [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL, secret [2] EXPLICIT OCTET STRING OPTIONAL,
 *   parent INTEGER, pubkey OCTET STRING, privkey OCTET STRING }
 * policy and secret are decoded only to be refused. */
typedef struct {
    ASN1_OBJECT *type;
    ASN1_BOOLEAN empty_auth;
    STACK_OF(ASN1_TYPE) *policy;
    ASN1_OCTET_STRING *secret;
    ASN1_INTEGER *parent;
    ASN1_OCTET_STRING *pubkey;
    ASN1_OCTET_STRING *privkey;
} TPM_KEY_ASN1;

ASN1_SEQUENCE(TPM_KEY_ASN1) = {
    ASN1_SIMPLE(TPM_KEY_ASN1, type, ASN1_OBJECT),
    ASN1_EXP_OPT(TPM_KEY_ASN1, empty_auth, ASN1_FBOOLEAN, 0),
    ASN1_EXP_SEQUENCE_OF_OPT(TPM_KEY_ASN1, policy, ASN1_ANY, 1),
    ASN1_EXP_OPT(TPM_KEY_ASN1, secret, ASN1_OCTET_STRING, 2),
    ASN1_SIMPLE(TPM_KEY_ASN1, parent, ASN1_INTEGER),
    ASN1_SIMPLE(TPM_KEY_ASN1, pubkey, ASN1_OCTET_STRING),
    ASN1_SIMPLE(TPM_KEY_ASN1, privkey, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(TPM_KEY_ASN1)

/* file-local: nothing outside this file encodes or decodes the TPMKey structure directly */
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(TPM_KEY_ASN1)
IMPLEMENT_STATIC_ASN1_ENCODE_FUNCTIONS(TPM_KEY_ASN1)

#define OID_LOADABLE_KEY "2.23.133.10.1.3"

devid_rc devid_tss2_encode_pem(const devid_tss2_key *key, char **pem, size_t *len)
{
    uint8_t pub[sizeof(TPM2B_PUBLIC)], priv[sizeof(TPM2B_PRIVATE)];
    size_t publen = 0, privlen = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(&key->pub, pub, sizeof(pub), &publen) ||
        Tss2_MU_TPM2B_PRIVATE_Marshal(&key->priv, priv, sizeof(priv), &privlen))
        return devid_fail(DEVID_ERR_INTERNAL, "cannot marshal the TPM key");

    devid_rc rc = DEVID_ERR_MEMORY;
    unsigned char *der = NULL;
    int derlen = -1;
    BIO *bio = NULL;
    TPM_KEY_ASN1 *asn = TPM_KEY_ASN1_new();
    if (asn && (asn->type = OBJ_txt2obj(OID_LOADABLE_KEY, 1)) &&
        ASN1_INTEGER_set_uint64(asn->parent, key->parent) &&
        ASN1_OCTET_STRING_set(asn->pubkey, pub, (int)publen) &&
        ASN1_OCTET_STRING_set(asn->privkey, priv, (int)privlen)) {
        asn->empty_auth = key->empty_auth ? 0xff : -1; /* FBOOLEAN: absent means FALSE */
        derlen = i2d_TPM_KEY_ASN1(asn, &der);
    }
    if (derlen > 0 && (bio = BIO_new(BIO_s_mem())) &&
        PEM_write_bio(bio, DEVID_TSS2_PEM_NAME, "", der, derlen) > 0) {
        char *data = NULL;
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (*pem = OPENSSL_malloc((size_t)n + 1))) {
            memcpy(*pem, data, (size_t)n);
            (*pem)[n] = '\0';
            *len = (size_t)n;
            rc = DEVID_OK;
        }
    }
    BIO_free(bio);
    OPENSSL_free(der);
    TPM_KEY_ASN1_free(asn);
    ERR_clear_error();
    return rc == DEVID_OK ? rc : devid_fail(rc, "cannot encode the TSS2 key");
}

/* PEM → DER if the data looks like PEM; otherwise the data is taken as DER. */
static unsigned char *pem_to_der(const unsigned char *data, size_t len, long *derlen)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    if (bio && PEM_read_bio(bio, &name, &header, &der, derlen) &&
        strcmp(name, DEVID_TSS2_PEM_NAME) != 0) {
        OPENSSL_free(der);
        der = NULL;
    }
    OPENSSL_free(name);
    OPENSSL_free(header);
    BIO_free(bio);
    return der;
}

devid_rc devid_tss2_decode(const unsigned char *data, size_t len, devid_tss2_key *key)
{
    if (!data || len == 0 || len > 64 * 1024)
        return devid_fail(DEVID_ERR_FORMAT, "TSS2 key: empty or oversized input");
    long derlen = 0;
    unsigned char *pem_der = NULL;
    const unsigned char *p = data;
    if (len > 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        pem_der = pem_to_der(data, len, &derlen);
        if (!pem_der) {
            ERR_clear_error();
            return devid_fail(DEVID_ERR_FORMAT, "not a TSS2 PRIVATE KEY PEM block");
        }
        p = pem_der;
    } else {
        derlen = (long)len;
    }
    const unsigned char *start = p;
    TPM_KEY_ASN1 *asn = d2i_TPM_KEY_ASN1(NULL, &p, derlen);
    devid_rc rc = DEVID_OK;
    uint64_t parent = 0;
    size_t off = 0;
    char oid[32] = "";
    if (!asn || p != start + derlen)
        rc = devid_fail(DEVID_ERR_FORMAT, "TSS2 key: malformed ASN.1");
    else if (OBJ_obj2txt(oid, sizeof(oid), asn->type, 1) <= 0 || strcmp(oid, OID_LOADABLE_KEY))
        rc = devid_fail(DEVID_ERR_UNSUPPORTED, "TSS2 key of type %s: only loadable keys (%s)", oid,
                        OID_LOADABLE_KEY);
    else if (asn->policy || asn->secret)
        rc = devid_fail(DEVID_ERR_UNSUPPORTED, "TSS2 keys with policies or imported secrets "
                                               "are not supported");
    else if (ASN1_INTEGER_get_uint64(&parent, asn->parent) != 1 || parent > UINT32_MAX)
        rc = devid_fail(DEVID_ERR_FORMAT, "TSS2 key: bad parent handle");
    memset(key, 0, sizeof(*key));
    if (rc == DEVID_OK &&
        Tss2_MU_TPM2B_PUBLIC_Unmarshal(asn->pubkey->data, (size_t)asn->pubkey->length, &off,
                                       &key->pub) == TSS2_RC_SUCCESS &&
        off == (size_t)asn->pubkey->length && key->pub.size != 0) { /* tss2-mu takes size 0 */
        off = 0;
        if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(asn->privkey->data, (size_t)asn->privkey->length, &off,
                                            &key->priv) != TSS2_RC_SUCCESS ||
            off != (size_t)asn->privkey->length)
            rc = devid_fail(DEVID_ERR_FORMAT, "TSS2 key: malformed private blob");
    } else if (rc == DEVID_OK) {
        rc = devid_fail(DEVID_ERR_FORMAT, "TSS2 key: malformed public area");
    }
    if (rc == DEVID_OK) {
        key->parent = (uint32_t)parent;
        key->empty_auth = asn->empty_auth > 0;
    }
    TPM_KEY_ASN1_free(asn);
    OPENSSL_free(pem_der);
    ERR_clear_error();
    return rc;
}
