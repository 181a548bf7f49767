/* SPDX-License-Identifier: Apache-2.0 */
/* The factory step's IAK (the TCG attestation key next to the IDevID). */
#ifndef ENROLL_FACTORY_IAK_H
#define ENROLL_FACTORY_IAK_H

#include "devid.h"

#include <openssl/evp.h>

/* Makes sure the IAK exists, of the IDevID's algorithm family (EC P-256 or RSA 2048), and
 * says what it did. An IAK disabled in the configuration is skipped (devices without one
 * keep working); a foreign key at its handle is an error and is left alone. */
/* *action (optional) gets "created", "reused" or "none" (disabled). *keep (optional) gets the
 * IAK, opened (NULL if disabled), for the caller to free: while it is open, opening the IAK
 * again (the attested exchange) costs no TPM command. */
devid_rc factory_ensure_iak(EVP_PKEY *idevid_pub, const char **action, devid_key **keep);

/* Fault injection for the crash tests: DEVID_ENROLL_CRASH_AT=<point> makes the process die
 * by SIGKILL at that point, as a power cut would. */
void factory_crash_point(const char *point);

#endif
