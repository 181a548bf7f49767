/* SPDX-License-Identifier: Apache-2.0 */
/* Certificate loading helpers (DER from NV, PEM chain files). */
#ifndef DEVID_CERT_H
#define DEVID_CERT_H

#include "error.h"

#include <openssl/x509.h>

/* Core-internal (not exported; the fuzz targets link core's objects).
 * Parses exactly one DER certificate. Trailing bytes after it are accepted only if they are
 * padding (0x00 or 0xFF fill, as NV indices sized larger than their content carry). */
devid_rc devid__cert_from_der(const unsigned char *der, size_t len, X509 **out);

/* Reads a PEM file: the first certificate is the leaf (if leaf != NULL), the rest the chain.
 * Non-certificate PEM blocks are an error. */
devid_rc devid_cert_read_pem(const char *path, X509 **leaf, STACK_OF(X509) **chain);

/* Same from memory (core-internal; for fuzzing). */
devid_rc devid__cert_parse_pem(const char *pem, size_t len, const char *origin, X509 **leaf,
                               STACK_OF(X509) **chain);

#endif
