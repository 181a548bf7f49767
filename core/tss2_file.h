/* SPDX-License-Identifier: Apache-2.0 */
/* The TSS2 PRIVATE KEY format (the ASN.1 "TPMKey" structure read by tpm2-openssl,
 * tpm2-tss-engine and the Linux kernel): a TPM key's public area and wrapped private blob,
 * plus the handle of the parent to load it under. Core-internal. */
#ifndef DEVID_TSS2_FILE_H
#define DEVID_TSS2_FILE_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>
#include <tss2/tss2_tpm2_types.h>

#define DEVID_TSS2_PEM_NAME "TSS2 PRIVATE KEY"

typedef struct devid_tss2_key {
    bool empty_auth;
    uint32_t parent; /* persistent handle, or TPM2_RH_OWNER: the standard ECC SRK */
    TPM2B_PUBLIC pub;
    TPM2B_PRIVATE priv;
} devid_tss2_key;

/* Encodes as PEM into a malloc'd NUL-terminated string. */
devid_rc devid_tss2_encode_pem(const devid_tss2_key *key, char **pem, size_t *len);
/* Decodes PEM or DER. Keys with policies or imported secrets are refused with a clear error. */
devid_rc devid_tss2_decode(const unsigned char *data, size_t len, devid_tss2_key *key);

#endif
