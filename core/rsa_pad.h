/* SPDX-License-Identifier: Apache-2.0 */
/* RSA encodings done in software when the TPM is asked for a raw RSA operation
 * (core-internal). Only used for keys that allow raw RSA (decrypt attribute, null scheme). */
#ifndef DEVID_RSA_PAD_H
#define DEVID_RSA_PAD_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/* EMSA-PKCS1-v1_5 (block type 1) of t into em[k]. */
devid_rc devid_rsa_pad_pkcs1(const unsigned char *t, size_t tlen, unsigned char *em, size_t k);

/* EMSA-PSS (RFC 8017 9.1.1) of the digest mhash with MGF1 on the same hash and salt length =
 * digest length, into em[k] for a modulus of mod_bits bits. */
devid_rc devid_rsa_pad_pss(int md_nid, const unsigned char *mhash, size_t hlen, int mod_bits,
                           unsigned char *em, size_t k);

/* The DER DigestInfo (NULL parameters) of a digest of md_nid, into out[max]: the bytes a
 * PKCS#1 v1.5 signature covers. */
devid_rc devid_rsa_digestinfo(int md_nid, const unsigned char *digest, size_t dlen,
                              unsigned char *out, size_t max, size_t *outlen);
/* Splits a DER DigestInfo into its digest NID and digest. DEVID_ERR_FORMAT if `in` is not
 * exactly one DigestInfo with a known digest of the right length, DER-encoded with NULL
 * parameters (the bytes a TPM RSASSA signature covers). */
devid_rc devid_rsa_parse_digestinfo(const unsigned char *in, size_t len, int *md_nid,
                                    unsigned char *digest, size_t *dlen);

#endif
