/* Shared by the TPM fault tests (included after ../check.h, whose counters it uses): sign a
 * fresh digest with a P-256 key through core and check the signature with OpenSSL. */
#ifndef DEVID_TEST_SIGN_CHECK_H
#define DEVID_TEST_SIGN_CHECK_H

#include "devid.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* The key's result; when it signed, a CHECK that the signature verifies (named `what`). */
static devid_rc sign_and_verify(devid_key *key, const char *what)
{
    unsigned char digest[32], sig[64];
    size_t siglen = sizeof(sig);
    CHECK(RAND_bytes(digest, sizeof(digest)) == 1, "%s: random digest", what);
    devid_rc rc = devid_key_sign(key, DEVID_SIG_ECDSA, NID_sha256, digest, sizeof(digest), sig,
                                 &siglen);
    if (rc != DEVID_OK)
        return rc;
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    int derlen = -1;
    if (es && ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL)) == 1)
        derlen = i2d_ECDSA_SIG(es, &der);
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(devid_key_get_public(key), NULL);
    int ok = siglen == 64 && derlen > 0 && vctx && EVP_PKEY_verify_init(vctx) == 1 &&
             EVP_PKEY_verify(vctx, der, (size_t)derlen, digest, sizeof(digest)) == 1;
    CHECK(ok, "%s: the signature verifies", what);
    EVP_PKEY_CTX_free(vctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    return rc;
}

#endif
