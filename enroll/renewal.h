/* SPDX-License-Identifier: Apache-2.0 */
/* When to renew: after `threshold` percent of a certificate's lifetime, plus a random share
 * of up to `jitter` percent so that a fleet enrolled at the same moment does not renew at the
 * same moment. Pure arithmetic, unit-tested. */
#ifndef DEVID_ENROLL_RENEWAL_H
#define DEVID_ENROLL_RENEWAL_H

#include <openssl/x509.h>
#include <time.h>

/* The moment renewal is due, for random r in [0,1). Never after notAfter. -1 if the
 * certificate's dates cannot be read. */
time_t renewal_due(const X509 *cert, long threshold, long jitter, double r);

#endif
