/* SPDX-License-Identifier: Apache-2.0 */
/* Key templates of the TCG "TPM 2.0 Keys for Device Identity and Attestation" specification
 * for the factory keys: the IDevID (an unrestricted signing key) and the IAK (a restricted
 * signing key, which signs only TPM-generated data: TPM2_Certify, TPM2_Quote). Core-internal.
 *
 * Both are primaries in the endorsement hierarchy, fixedTPM | fixedParent |
 * sensitiveDataOrigin | userWithAuth, with an empty auth value, nameAlg SHA-256 and the
 * specification's unique field ("IDEVID" / "IAK"), so each is derived from the endorsement
 * seed and distinct from any other primary of the same shape. Where devid departs from the
 * specification's templates, and why (docs/factory.md):
 * - adminWithPolicy is clear and authPolicy empty: the ADMIN role (TPM2_Certify of the key,
 *   TPM2_ActivateCredential) takes the empty auth value in a password session, like signing.
 * - noDA is set: an empty auth value cannot be guessed, and a lockout caused by another
 *   object must not take the device identity offline.
 * - the IDevID's scheme is NULL, so each signature picks its hash (TLS 1.2 may ask for
 *   SHA-384 with a P-256 key); the IAK's is fixed (ECDSA / RSASSA with SHA-256), as a
 *   restricted signing key needs. */
#ifndef DEVID_TEMPLATES_H
#define DEVID_TEMPLATES_H

#include "error.h"
#include "key.h"
#include "provision.h"

#include <stdbool.h>
#include <tss2/tss2_tpm2_types.h>

/* The template for `which`: type EC (curve P-256 or P-384) or RSA (2048, 3072, 4096 bits);
 * the IAK only EC P-256 or RSA 2048 (the specification's default templates). */
devid_rc devid_factory_template(devid_provision_template which, devid_key_type type, int curve_nid,
                                int bits, TPM2B_PUBLIC *out);

/* Whether a TPM object's public area has the attributes the factory templates require of
 * `which` (what a CA checks before certifying it). */
bool devid_factory_public_ok(devid_provision_template which, const TPMT_PUBLIC *pub);

#endif
