/* SPDX-License-Identifier: Apache-2.0 */
/* ECDSA signatures in their two forms: r||s (what TPM2_Sign returns and PKCS#11 uses: two
 * big-endian integers, each the size of the curve order) and the DER ECDSA-Sig-Value of
 * X.509, TLS and OpenSSL. Needs only libcrypto, so tests may compile it in on its own. */
#ifndef DEVID_ECDSA_DER_H
#define DEVID_ECDSA_DER_H

#include <stddef.h>

/* The largest DER form of a signature whose r and s have `half` bytes each. */
size_t devid_ecdsa_der_max(size_t half);

/* Writes the DER form of r||s (rslen bytes, even) into der (dersize bytes); der == NULL asks
 * for the length. Returns the DER length, 0 if rs is empty or odd or der is too small. */
size_t devid_ecdsa_rs_to_der(const unsigned char *rs, size_t rslen, unsigned char *der,
                             size_t dersize);

#endif
