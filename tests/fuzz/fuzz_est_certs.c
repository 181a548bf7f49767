/* SPDX-License-Identifier: Apache-2.0 */
/* est_parse_certs_only (enroll/est_msg.h): the base64 certs-only PKCS#7 an EST server returns
 * from /cacerts and /simpleenroll.
 *
 * Properties: an accepted response yields at least one certificate, and those certificates
 * packed into a fresh certs-only PKCS#7 parse to the same DER in the same order.
 *
 * Inputs that start with 0x30 (DER) are also base64-encoded and parsed, so mutations reach
 * the PKCS#7 decoding directly rather than through the base64 text. */
#include "fuzz.h"

#include "est_msg.h"

#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <string.h>

static void check_same(STACK_OF(X509) *a, STACK_OF(X509) *b)
{
    FUZZ_ASSERT(sk_X509_num(a) == sk_X509_num(b), "%d certificates, then %d", sk_X509_num(a),
                sk_X509_num(b));
    for (int i = 0; i < sk_X509_num(a); i++) {
        unsigned char *da = NULL, *db = NULL;
        int la = i2d_X509(sk_X509_value(a, i), &da), lb = i2d_X509(sk_X509_value(b, i), &db);
        FUZZ_ASSERT(la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0, "certificate %d differs",
                    i);
        OPENSSL_free(da);
        OPENSSL_free(db);
    }
}

/* A certs-only SignedData carrying certs, base64. */
static char *certs_only(STACK_OF(X509) *certs, size_t *len)
{
    PKCS7 *p7 = PKCS7_new();
    FUZZ_ASSERT(p7 && PKCS7_set_type(p7, NID_pkcs7_signed) == 1 &&
                    PKCS7_content_new(p7, NID_pkcs7_data) == 1,
                "building a PKCS#7");
    for (int i = 0; i < sk_X509_num(certs); i++)
        FUZZ_ASSERT(PKCS7_add_certificate(p7, sk_X509_value(certs, i)) == 1, "adding a cert");
    unsigned char *der = NULL;
    int derlen = i2d_PKCS7(p7, &der);
    FUZZ_ASSERT(derlen > 0, "encoding the PKCS#7");
    char *b64 = NULL;
    FUZZ_ASSERT(est_base64_encode(der, (size_t)derlen, &b64, len) == DEVID_OK, "base64");
    OPENSSL_free(der);
    PKCS7_free(p7);
    return b64;
}

static void check(const char *body, size_t len)
{
    STACK_OF(X509) *certs = NULL;
    devid_rc rc = est_parse_certs_only(body, len, &certs);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_MEMORY, "rc %s",
                devid_rc_name(rc));
    if (rc != DEVID_OK)
        return;
    FUZZ_ASSERT(certs && sk_X509_num(certs) > 0, "OK without certificates");
    size_t blen = 0;
    char *again = certs_only(certs, &blen);
    STACK_OF(X509) *certs2 = NULL;
    FUZZ_ASSERT(est_parse_certs_only(again, blen, &certs2) == DEVID_OK,
                "repacked certificates rejected: %s", devid_last_error());
    check_same(certs, certs2);
    free(again);
    sk_X509_pop_free(certs, X509_free);
    sk_X509_pop_free(certs2, X509_free);
    ERR_clear_error();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check((const char *)data, size);
    if (size > 0 && data[0] == 0x30) {
        char *b64 = NULL;
        size_t len = 0;
        FUZZ_ASSERT(est_base64_encode(data, size, &b64, &len) == DEVID_OK, "base64");
        check(b64, len);
        free(b64);
    }
    return 0;
}
