/* SPDX-License-Identifier: Apache-2.0 */
/* evidence_decode (enroll/evidence.h): the id-aa-evidence attribute value of an attested CSR
 * (EvidenceBundles with a tcg-attest-tpm-certify statement). devid-enroll writes it; a CA
 * (and devid's own tests) read it. Properties: only DEVID_ERR_FORMAT as an error, outputs
 * cleared on refusal; an accepted value has three non-empty TPM structures and a certificate
 * list; with at least one certificate, encoding what was read and decoding that gives the same
 * structures and certificates (DER, in order), and the encoding is stable. */
#include "fuzz.h"

#include "evidence.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdbool.h>
#include <string.h>

static bool same_bytes(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static bool same_certs(STACK_OF(X509) *a, STACK_OF(X509) *b)
{
    if (sk_X509_num(a) != sk_X509_num(b))
        return false;
    for (int i = 0; i < sk_X509_num(a); i++)
        if (X509_cmp(sk_X509_value(a, i), sk_X509_value(b, i)) != 0)
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    evidence_tpm_certify c, again;
    STACK_OF(X509) *certs = NULL, *certs2 = NULL;
    devid_rc rc = evidence_decode(data, size, &c, &certs);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
        FUZZ_ASSERT(!certs && !c.attest && !c.signature && !c.public_area,
                    "outputs left on refusal");
        ERR_clear_error();
        return 0;
    }
    FUZZ_ASSERT(certs && c.attest_len && c.signature_len && c.public_len, "empty part");
    if (sk_X509_num(certs) > 0) {
        STACK_OF(X509) *rest = sk_X509_dup(certs);
        FUZZ_ASSERT(rest, "dup");
        X509 *first = sk_X509_shift(rest);
        unsigned char *der = NULL, *der2 = NULL;
        size_t len = 0, len2 = 0;
        FUZZ_ASSERT(evidence_encode(&c, first, rest, &der, &len) == DEVID_OK, "re-encode");
        FUZZ_ASSERT(evidence_decode(der, len, &again, &certs2) == DEVID_OK, "decode again");
        FUZZ_ASSERT(same_bytes(c.attest, c.attest_len, again.attest, again.attest_len) &&
                        same_bytes(c.signature, c.signature_len, again.signature,
                                   again.signature_len) &&
                        same_bytes(c.public_area, c.public_len, again.public_area,
                                   again.public_len),
                    "structures differ after a round trip");
        FUZZ_ASSERT(same_certs(certs, certs2), "certificates differ after a round trip");
        FUZZ_ASSERT(evidence_encode(&again, sk_X509_value(certs2, 0), NULL, &der2, &len2) ==
                        DEVID_OK,
                    "re-encode again");
        OPENSSL_free(der2);
        der2 = NULL;
        STACK_OF(X509) *rest2 = sk_X509_dup(certs2);
        sk_X509_shift(rest2);
        FUZZ_ASSERT(evidence_encode(&again, sk_X509_value(certs2, 0), rest2, &der2, &len2) ==
                            DEVID_OK &&
                        same_bytes(der, len, der2, len2),
                    "encoding not stable");
        sk_X509_free(rest2);
        sk_X509_free(rest);
        OPENSSL_free(der);
        OPENSSL_free(der2);
        evidence_tpm_certify_clear(&again);
        sk_X509_pop_free(certs2, X509_free);
    }
    evidence_tpm_certify_clear(&c);
    sk_X509_pop_free(certs, X509_free);
    ERR_clear_error();
    return 0;
}
