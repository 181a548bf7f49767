/* SPDX-License-Identifier: Apache-2.0 */
/* devid__cert_from_der (core/cert.h): a DER certificate as read from an NV index, where
 * trailing 0x00/0xFF fill is padding and anything else after the certificate is an error.
 *
 * Properties: accepted iff OpenSSL parses a certificate from the front and every byte after it
 * is 0x00 or 0xFF; an accepted certificate re-encodes stably (i2d -> d2i -> i2d). */
#include "fuzz.h"

#include "cert.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The oracle: what the padding rule says. */
    const unsigned char *p = data;
    X509 *ref = d2i_X509(NULL, &p, (long)size);
    ERR_clear_error();
    int padding_ok = ref != NULL;
    for (const unsigned char *q = p; padding_ok && q < data + size; q++)
        padding_ok = *q == 0x00 || *q == 0xff;
    X509_free(ref);

    X509 *cert = NULL;
    devid_rc rc = devid__cert_from_der(data, size, &cert);
    FUZZ_ASSERT((rc == DEVID_OK) == padding_ok, "rc %s, padding rule says %s (%s)",
                devid_rc_name(rc), padding_ok ? "accept" : "reject", devid_last_error());
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
        return 0;
    }
    FUZZ_ASSERT(cert, "OK without a certificate");

    unsigned char *der1 = NULL, *der2 = NULL;
    int len1 = i2d_X509(cert, &der1);
    FUZZ_ASSERT(len1 > 0, "accepted certificate does not re-encode");
    X509 *back = NULL;
    FUZZ_ASSERT(devid__cert_from_der(der1, (size_t)len1, &back) == DEVID_OK,
                "re-encoded certificate rejected: %s", devid_last_error());
    int len2 = i2d_X509(back, &der2);
    FUZZ_ASSERT(len1 == len2 && memcmp(der1, der2, (size_t)len1) == 0, "encoding not stable");
    OPENSSL_free(der1);
    OPENSSL_free(der2);
    X509_free(back);
    X509_free(cert);
    ERR_clear_error();
    return 0;
}
