/* SPDX-License-Identifier: Apache-2.0 */
/* A public key's id (CKA_ID of store keys, the id= of devid: URIs): the SHA-1 of the
 * subjectPublicKey of its SubjectPublicKeyInfo, for EC (read from the key's point) the same
 * bytes as through OpenSSL's encoder, for RSA through that encoder. */
#include "devid_test.h"
#include "key.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>

/* The id the long way: OpenSSL's own SubjectPublicKeyInfo of the key. */
static bool id_via_spki(EVP_PKEY *key, unsigned char id[20])
{
    unsigned char *der = NULL;
    int len = i2d_PUBKEY(key, &der);
    const unsigned char *p = der;
    X509_PUBKEY *xpk = len > 0 ? d2i_X509_PUBKEY(NULL, &p, len) : NULL;
    const unsigned char *bits = NULL;
    int nbits = 0;
    bool ok = xpk && X509_PUBKEY_get0_param(NULL, &bits, &nbits, NULL, xpk) == 1 &&
              EVP_Digest(bits, (size_t)nbits, id, NULL, EVP_sha1(), NULL) == 1;
    X509_PUBKEY_free(xpk);
    OPENSSL_free(der);
    return ok;
}

static void check_key(EVP_PKEY *key, const char *what)
{
    unsigned char want[20], got[20];
    CHECK(key && id_via_spki(key, want), "%s: the id through the SubjectPublicKeyInfo", what);
    CHECK_RC(devid_pubkey_id(key, got), DEVID_OK);
    CHECK(memcmp(want, got, sizeof(want)) == 0, "%s: the same id", what);
}

static void test_ids(void)
{
    EVP_PKEY *p256 = EVP_EC_gen("P-256"), *p384 = EVP_EC_gen("P-384");
    EVP_PKEY *packed = EVP_EC_gen("P-256"), *rsa = EVP_RSA_gen(2048);
    CHECK(EVP_PKEY_set_utf8_string_param(packed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                         "compressed") == 1,
          "a key holding its point compressed");
    check_key(p256, "P-256");
    check_key(p384, "P-384");
    check_key(packed, "P-256, compressed point");
    check_key(rsa, "RSA-2048");
    EVP_PKEY_free(p256);
    EVP_PKEY_free(p384);
    EVP_PKEY_free(packed);
    EVP_PKEY_free(rsa);
}

int main(int argc, char **argv)
{
    devid_test(test_ids, "/pubkey-id/ids");
    return devid_test_run("test_pubkey_id", argc, argv);
}
