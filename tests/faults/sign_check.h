/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the TPM fault tests (included after devid_test.h, whose CHECK it uses): sign a
 * fresh digest with a P-256 key through core and check the signature with OpenSSL. */
#ifndef DEVID_TEST_SIGN_CHECK_H
#define DEVID_TEST_SIGN_CHECK_H

#include "devid.h"

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
    unsigned char der[80];
    size_t derlen = devid_ecdsa_rs_to_der(sig, siglen, der, sizeof(der));
    EVP_PKEY_CTX *vctx = EVP_PKEY_CTX_new(devid_key_get_public(key), NULL);
    int ok = siglen == 64 && derlen && vctx && EVP_PKEY_verify_init(vctx) == 1 &&
             EVP_PKEY_verify(vctx, der, derlen, digest, sizeof(digest)) == 1;
    CHECK(ok, "%s: the signature verifies", what);
    EVP_PKEY_CTX_free(vctx);
    return rc;
}

#endif
