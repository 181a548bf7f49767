/* SPDX-License-Identifier: Apache-2.0 */
/* Key creation in the TPM (core-internal; store.c writes the result). */
#ifndef DEVID_KEYGEN_H
#define DEVID_KEYGEN_H

#include "store.h"
#include "tss2_file.h"

/* Creates a key under the default parent (the SRK) and returns it in loadable form. The auth
 * value travels in a salted, encrypted session. */
devid_rc devid_keygen_create(const devid_keygen *params, devid_tss2_key *out);

/* The public template for a key (unrestricted, null scheme, noDA, fixedTPM). */
devid_rc devid_keygen_template(const devid_keygen *params, TPM2B_PUBLIC *tmpl);

/* TPM2_Create under the default parent from a template and sensitive data (keys, sealed
 * objects). The sensitive part travels in a salted, encrypted session when it holds secrets. */
devid_rc devid_tpm_create(const TPM2B_PUBLIC *tmpl, const TPM2B_SENSITIVE_CREATE *sensitive,
                          devid_tss2_key *out);

#endif
