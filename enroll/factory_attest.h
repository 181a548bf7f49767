/* SPDX-License-Identifier: Apache-2.0 */
/* The factory step authenticated by the EK (est.factory_mode = attested; docs/factory.md,
 * "The attested exchange"). */
#ifndef ENROLL_FACTORY_ATTEST_H
#define ENROLL_FACTORY_ATTEST_H

#include "context.h"

/* Runs the exchange for the IDevID key `idevid_pub` (at the IDevID handle) with the IAK:
 * asks the CA for a nonce, sends the EK certificate, both public areas, the IAK's
 * certification of the IDevID over the nonce and the CSR, activates the CA's credential
 * with the EK and the IAK, opens the certificates with it and checks them (each for its
 * key, each chaining to the trust anchors). Then writes the IAK certificate into its NV
 * index; the IDevID certificate and its CA chain are returned for the caller to store.
 * Nothing is written to the TPM before every check passed. */
devid_rc factory_attested_enroll(enroll_ctx *ctx, EVP_PKEY *idevid_pub, const X509_NAME *subject,
                                 X509 **idevid_cert, STACK_OF(X509) **chain);

#endif
