/* SPDX-License-Identifier: Apache-2.0 */
/* devid__cert_parse_pem (core/cert.h): PEM certificate chains (leaf first), as in owner
 * identity files and enrollment responses.
 *
 * Properties: the result does not depend on which outputs the caller asks for (leaf and chain,
 * leaf only, chain only); an accepted chain written back as PEM parses to the same DER
 * certificates in the same order. */
#include "fuzz.h"

#include "cert.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>

static unsigned char *der_of(X509 *x, int *len)
{
    unsigned char *der = NULL;
    *len = i2d_X509(x, &der);
    FUZZ_ASSERT(*len > 0, "certificate does not encode");
    return der;
}

static void check_same_cert(X509 *a, X509 *b, const char *what)
{
    int la = 0, lb = 0;
    unsigned char *da = der_of(a, &la), *db = der_of(b, &lb);
    FUZZ_ASSERT(la == lb && memcmp(da, db, (size_t)la) == 0, "%s differs", what);
    OPENSSL_free(da);
    OPENSSL_free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *pem = (const char *)data;
    X509 *leaf = NULL;
    STACK_OF(X509) *chain = NULL;
    devid_rc rc = devid__cert_parse_pem(pem, size, "fuzz.pem", &leaf, &chain);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_MEMORY, "rc %s",
                devid_rc_name(rc));
    FUZZ_ASSERT(rc != DEVID_OK || (leaf && chain), "OK without outputs");
    if (rc != DEVID_OK)
        FUZZ_ASSERT(strncmp(devid_last_error(), "fuzz.pem: ", 10) == 0,
                    "error does not name the origin: %s", devid_last_error());

    /* Leaf only, chain only: same verdict, same certificates. */
    X509 *leaf_only = NULL;
    STACK_OF(X509) *chain_only = NULL;
    devid_rc rc_leaf = devid__cert_parse_pem(pem, size, "fuzz.pem", &leaf_only, NULL);
    devid_rc rc_chain = devid__cert_parse_pem(pem, size, "fuzz.pem", NULL, &chain_only);
    FUZZ_ASSERT(rc_leaf == rc && rc_chain == rc, "verdict depends on the outputs asked for");
    if (rc != DEVID_OK)
        return 0;
    check_same_cert(leaf, leaf_only, "leaf (leaf only)");
    int n = sk_X509_num(chain);
    FUZZ_ASSERT(sk_X509_num(chain_only) == n + 1, "chain only: %d certificates, expected %d",
                sk_X509_num(chain_only), n + 1);
    check_same_cert(leaf, sk_X509_value(chain_only, 0), "leaf (chain only)");
    for (int i = 0; i < n; i++)
        check_same_cert(sk_X509_value(chain, i), sk_X509_value(chain_only, i + 1),
                        "chain certificate (chain only)");

    /* Written back as PEM, it parses to the same certificates. */
    BIO *bio = BIO_new(BIO_s_mem());
    FUZZ_ASSERT(bio && PEM_write_bio_X509(bio, leaf) == 1, "PEM write");
    for (int i = 0; i < n; i++)
        FUZZ_ASSERT(PEM_write_bio_X509(bio, sk_X509_value(chain, i)) == 1, "PEM write");
    char *text = NULL;
    long len = BIO_get_mem_data(bio, &text);
    X509 *leaf2 = NULL;
    STACK_OF(X509) *chain2 = NULL;
    FUZZ_ASSERT(devid__cert_parse_pem(text, (size_t)len, "rewritten", &leaf2, &chain2) == DEVID_OK,
                "rewritten chain rejected: %s", devid_last_error());
    check_same_cert(leaf, leaf2, "rewritten leaf");
    FUZZ_ASSERT(sk_X509_num(chain2) == n, "rewritten chain length");
    for (int i = 0; i < n; i++)
        check_same_cert(sk_X509_value(chain, i), sk_X509_value(chain2, i),
                        "rewritten chain certificate");

    BIO_free(bio);
    X509_free(leaf2);
    sk_X509_pop_free(chain2, X509_free);
    X509_free(leaf);
    X509_free(leaf_only);
    sk_X509_pop_free(chain, X509_free);
    sk_X509_pop_free(chain_only, X509_free);
    ERR_clear_error();
    return 0;
}
