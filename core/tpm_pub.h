/* SPDX-License-Identifier: Apache-2.0 */
/* Conversions between TPM public areas and OpenSSL objects (core-internal). */
#ifndef DEVID_TPM_PUB_H
#define DEVID_TPM_PUB_H

#include "error.h"

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

/* Property query core uses for its own software crypto: prefer OpenSSL's default provider,
 * so a loaded devid provider never ends up verifying its own signatures. */
#define DEVID_SW_PROPQ "?provider=default"

/* Builds the public key of an ECC or RSA TPM object. */
devid_rc devid_tpm_public_to_evp(const TPMT_PUBLIC *pub, EVP_PKEY **out);

/* TPM hash algorithm for an OpenSSL digest NID (TPM2_ALG_ERROR if none), and back. */
TPM2_ALG_ID devid_tpm_hash_from_nid(int md_nid);
int devid_tpm_hash_to_nid(TPM2_ALG_ID alg);
/* Digest size of a TPM hash algorithm, 0 if unknown. */
size_t devid_tpm_hash_size(TPM2_ALG_ID alg);

/* Byte size of the curve order (0 if the curve is unknown) and OpenSSL group name. */
size_t devid_tpm_curve_order_len(TPMI_ECC_CURVE curve);
const char *devid_tpm_curve_name(TPMI_ECC_CURVE curve);
/* Size of the curve in bits as OpenSSL reports it (EVP_PKEY_get_bits), 0 if unknown. */
int devid_tpm_curve_bits(TPMI_ECC_CURVE curve);

#endif
