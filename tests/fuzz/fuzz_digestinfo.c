/* SPDX-License-Identifier: Apache-2.0 */
/* devid_rsa_parse_digestinfo (core/rsa_pad.h): the DigestInfo a PKCS#1 v1.5 raw-RSA signing
 * request (CKM_RSA_PKCS, a provider's RSA sign without a digest) carries, which core turns into
 * a TPM2_Sign of the digest with RSASSA.
 *
 * Properties: an accepted input yields a digest of the size its algorithm has, and is exactly
 * the DER DigestInfo the TPM's RSASSA signature covers (algorithm with NULL parameters, that
 * digest): otherwise the signature returned would be over other bytes than the caller's. */
#include "fuzz.h"

#include "rsa_pad.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

/* DER DigestInfo { AlgorithmIdentifier { nid, NULL }, OCTET STRING digest }. */
static int canonical(int nid, const unsigned char *digest, size_t dlen, unsigned char **der)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *os = NULL;
    FUZZ_ASSERT(sig, "X509_SIG_new");
    X509_SIG_getm(sig, &alg, &os);
    FUZZ_ASSERT(X509_ALGOR_set0(alg, OBJ_nid2obj(nid), V_ASN1_NULL, NULL) == 1 &&
                    ASN1_OCTET_STRING_set(os, digest, (int)dlen) == 1,
                "building the DigestInfo");
    int len = i2d_X509_SIG(sig, der);
    X509_SIG_free(sig);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly the caller's buffer in sign.c: EVP_MAX_MD_SIZE bytes. */
    unsigned char *digest = malloc(EVP_MAX_MD_SIZE);
    FUZZ_ASSERT(digest, "malloc");
    int nid = NID_undef;
    size_t dlen = 0;
    devid_rc rc = devid_rsa_parse_digestinfo(data, size, &nid, digest, &dlen);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
        free(digest);
        ERR_clear_error();
        return 0;
    }
    const EVP_MD *md = EVP_get_digestbynid(nid);
    FUZZ_ASSERT(md && (size_t)EVP_MD_get_size(md) == dlen, "digest %s with %zu bytes",
                OBJ_nid2sn(nid), dlen);

    unsigned char *der = NULL;
    int len = canonical(nid, digest, dlen, &der);
    FUZZ_ASSERT(len > 0 && (size_t)len == size && memcmp(der, data, size) == 0,
                "accepted a DigestInfo that is not the DER one for %s (%zu bytes, DER is %d)",
                OBJ_nid2sn(nid), size, len);
    OPENSSL_free(der);
    free(digest);
    return 0;
}
