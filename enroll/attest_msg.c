/* SPDX-License-Identifier: Apache-2.0 */
/* The attested exchange's DER messages (attest_msg.h), by OpenSSL's ASN.1 templates: the
 * answer comes from the network and is parsed strictly (whole buffer, version 0). */
#include "attest_msg.h"

#include <openssl/asn1t.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ASN1_INTEGER *version;
    ASN1_OCTET_STRING *nonce, *ek_cert, *iak_public, *idevid_public, *certify_info,
        *certify_signature, *csr;
} ATTEST_REQUEST;

ASN1_SEQUENCE(ATTEST_REQUEST) = {
    ASN1_SIMPLE(ATTEST_REQUEST, version, ASN1_INTEGER),
    ASN1_SIMPLE(ATTEST_REQUEST, nonce, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, ek_cert, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, iak_public, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, idevid_public, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, certify_info, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, certify_signature, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_REQUEST, csr, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(ATTEST_REQUEST)
IMPLEMENT_STATIC_ASN1_ALLOC_FUNCTIONS(ATTEST_REQUEST)
/* The request is only ever encoded: the generic item call, no d2i/i2d pair (clang's
 * -Wunused-function refuses an unused static d2i). */
#define REQUEST_ITEM ASN1_ITEM_rptr(ATTEST_REQUEST)

typedef struct {
    ASN1_INTEGER *version;
    ASN1_OCTET_STRING *credential_blob, *encrypted_secret, *iv, *sealed;
} ATTEST_RESPONSE;

ASN1_SEQUENCE(ATTEST_RESPONSE) = {
    ASN1_SIMPLE(ATTEST_RESPONSE, version, ASN1_INTEGER),
    ASN1_SIMPLE(ATTEST_RESPONSE, credential_blob, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_RESPONSE, encrypted_secret, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_RESPONSE, iv, ASN1_OCTET_STRING),
    ASN1_SIMPLE(ATTEST_RESPONSE, sealed, ASN1_OCTET_STRING),
} static_ASN1_SEQUENCE_END(ATTEST_RESPONSE)

typedef struct {
    X509 *iak;
    X509 *idevid;
    STACK_OF(X509) *chain;
} ATTESTED_CERTS;

ASN1_SEQUENCE(ATTESTED_CERTS) = {
    ASN1_SIMPLE(ATTESTED_CERTS, iak, X509),
    ASN1_SIMPLE(ATTESTED_CERTS, idevid, X509),
    ASN1_SEQUENCE_OF(ATTESTED_CERTS, chain, X509),
} static_ASN1_SEQUENCE_END(ATTESTED_CERTS)

/* The answer's two types are only ever decoded: the generic item calls, no wrappers. */
#define RESPONSE_ITEM ASN1_ITEM_rptr(ATTEST_RESPONSE)
#define CERTS_ITEM ASN1_ITEM_rptr(ATTESTED_CERTS)

static bool set_octets(ASN1_OCTET_STRING *s, attest_bytes b)
{
    return b.len <= INT32_MAX && ASN1_OCTET_STRING_set(s, b.data, (int)b.len) == 1;
}

devid_rc attest_request_encode(const attest_request *req, unsigned char **der, size_t *len)
{
    ATTEST_REQUEST *r = ATTEST_REQUEST_new();
    bool ok = r && ASN1_INTEGER_set(r->version, 0) == 1 && set_octets(r->nonce, req->nonce) &&
              set_octets(r->ek_cert, req->ek_cert) && set_octets(r->iak_public, req->iak_public) &&
              set_octets(r->idevid_public, req->idevid_public) &&
              set_octets(r->certify_info, req->certify_info) &&
              set_octets(r->certify_signature, req->certify_signature) &&
              set_octets(r->csr, req->csr);
    unsigned char *out = NULL;
    int n = ok ? ASN1_item_i2d((ASN1_VALUE *)r, &out, REQUEST_ITEM) : -1;
    ATTEST_REQUEST_free(r);
    if (n <= 0)
        return devid_fail(DEVID_ERR_MEMORY, "encoding the attested enrollment request");
    *der = out; /* OPENSSL_free */
    *len = (size_t)n;
    return DEVID_OK;
}

static devid_rc dup_octets(const ASN1_OCTET_STRING *s, unsigned char **out, size_t *len)
{
    int n = ASN1_STRING_length(s);
    *out = malloc(n > 0 ? (size_t)n : 1);
    if (!*out)
        return devid_fail(DEVID_ERR_MEMORY, "out of memory");
    memcpy(*out, ASN1_STRING_get0_data(s), (size_t)n);
    *len = (size_t)n;
    return DEVID_OK;
}

devid_rc attest_response_parse(const unsigned char *der, size_t len, attest_response *out)
{
    memset(out, 0, sizeof(*out));
    const unsigned char *p = der;
    ATTEST_RESPONSE *r = der && len <= INT32_MAX
                             ? (ATTEST_RESPONSE *)ASN1_item_d2i(NULL, &p, (long)len, RESPONSE_ITEM)
                             : NULL;
    devid_rc rc = DEVID_OK;
    long version = r ? ASN1_INTEGER_get(r->version) : -1;
    if (!r || p != der + len)
        rc = devid_fail(DEVID_ERR_FORMAT, "the answer is not an AttestEnrollResponse (DER)");
    else if (version != 0)
        rc = devid_fail(DEVID_ERR_FORMAT, "AttestEnrollResponse version %ld: only 0 is known",
                        version);
    else if (ASN1_STRING_length(r->iv) != ATTEST_GCM_IV)
        rc = devid_fail(DEVID_ERR_FORMAT, "AttestEnrollResponse: the IV is not %d bytes",
                        ATTEST_GCM_IV);
    else if (ASN1_STRING_length(r->sealed) < ATTEST_GCM_TAG)
        rc = devid_fail(DEVID_ERR_FORMAT, "AttestEnrollResponse: the sealed certificates are "
                                          "shorter than the tag");
    if (rc == DEVID_OK) {
        memcpy(out->iv, ASN1_STRING_get0_data(r->iv), ATTEST_GCM_IV);
        rc = dup_octets(r->credential_blob, &out->credential_blob, &out->credential_blob_len);
    }
    if (rc == DEVID_OK)
        rc = dup_octets(r->encrypted_secret, &out->encrypted_secret, &out->encrypted_secret_len);
    if (rc == DEVID_OK)
        rc = dup_octets(r->sealed, &out->sealed, &out->sealed_len);
    ASN1_item_free((ASN1_VALUE *)r, RESPONSE_ITEM);
    ERR_clear_error();
    if (rc != DEVID_OK)
        attest_response_clear(out);
    return rc;
}

void attest_response_clear(attest_response *r)
{
    free(r->credential_blob);
    free(r->encrypted_secret);
    free(r->sealed);
    memset(r, 0, sizeof(*r));
}

devid_rc attest_certs_parse(const unsigned char *der, size_t len, X509 **iak_cert,
                            X509 **idevid_cert, STACK_OF(X509) **chain)
{
    const unsigned char *p = der;
    ATTESTED_CERTS *c = der && len <= INT32_MAX
                            ? (ATTESTED_CERTS *)ASN1_item_d2i(NULL, &p, (long)len, CERTS_ITEM)
                            : NULL;
    ERR_clear_error();
    if (!c || p != der + len) {
        ASN1_item_free((ASN1_VALUE *)c, CERTS_ITEM);
        return devid_fail(DEVID_ERR_FORMAT, "the opened answer is not AttestedCertificates");
    }
    *iak_cert = c->iak;
    *idevid_cert = c->idevid;
    *chain = c->chain;
    c->iak = c->idevid = NULL;
    c->chain = NULL;
    ASN1_item_free((ASN1_VALUE *)c, CERTS_ITEM);
    return DEVID_OK;
}

devid_rc attest_certs_open(const unsigned char key[ATTEST_KEY_LEN], const attest_response *r,
                           const unsigned char *nonce, size_t nonce_len, X509 **iak_cert,
                           X509 **idevid_cert, STACK_OF(X509) **chain)
{
    if (r->sealed_len < ATTEST_GCM_TAG || r->sealed_len - ATTEST_GCM_TAG > INT32_MAX ||
        nonce_len > INT32_MAX)
        return devid_fail(DEVID_ERR_FORMAT, "sealed certificates of a bad size");
    size_t ct_len = r->sealed_len - ATTEST_GCM_TAG;
    unsigned char *plain = malloc(ct_len ? ct_len : 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, fin = 0;
    bool ok = plain && ctx && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, ATTEST_GCM_IV, NULL) == 1 &&
              EVP_DecryptInit_ex(ctx, NULL, NULL, key, r->iv) == 1 &&
              EVP_DecryptUpdate(ctx, NULL, &n, nonce, (int)nonce_len) == 1 &&
              EVP_DecryptUpdate(ctx, plain, &n, r->sealed, (int)ct_len) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ATTEST_GCM_TAG, r->sealed + ct_len) ==
                  1;
    bool authentic = ok && EVP_DecryptFinal_ex(ctx, plain + n, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    devid_rc rc;
    if (!ok)
        rc = devid_fail(plain && ctx ? DEVID_ERR_INTERNAL : DEVID_ERR_MEMORY, "AES-256-GCM setup");
    else if (!authentic)
        rc = devid_fail(DEVID_ERR_AUTH, "the sealed certificates do not open with the "
                                        "activated credential (tag mismatch)");
    else
        rc = attest_certs_parse(plain, (size_t)(n + fin), iak_cert, idevid_cert, chain);
    if (plain)
        OPENSSL_cleanse(plain, ct_len);
    free(plain);
    return rc;
}
