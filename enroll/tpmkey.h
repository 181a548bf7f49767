/* SPDX-License-Identifier: Apache-2.0 */
/* TPM keys as OpenSSL EVP_PKEYs, through the devid provider: the enrollment signs its CSRs
 * and TLS handshakes exactly as any other OpenSSL application would, and no key leaves the
 * TPM. */
#ifndef DEVID_ENROLL_TPMKEY_H
#define DEVID_ENROLL_TPMKEY_H

#include "error.h"

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

/* Loads the devid and default providers into the default library context (once). The devid
 * module is found in OPENSSL_MODULES or OpenSSL's modules directory. */
devid_rc enroll_providers_load(void);

/* Unloads what enroll_providers_load loaded (before exit: providers are not torn down
 * otherwise). Keys obtained through them must be freed first. */
void enroll_providers_unload(void);

/* The private key at a persistent handle, or of the store object labelled `label` with this
 * CKA_ID (the label keeps the provider from opening every TPM identity's key to compare its
 * id: three TPM commands per lookup). */
devid_rc enroll_key_by_handle(uint32_t handle, EVP_PKEY **out);
devid_rc enroll_store_key(const char *label, const unsigned char *id, size_t id_len,
                          EVP_PKEY **out);

#endif
