/* SPDX-License-Identifier: Apache-2.0 */
/* A certificate (or CRL) found "not yet valid" or "expired" was judged by this device's clock.
 * On a device without a battery-backed clock that clock may be what is wrong (it boots at 1970
 * or at its last shutdown), so such errors say what the clock reads and what to do: worded
 * here, once, for the EST connection, the revocation fetches and the issued certificate. */
#ifndef DEVID_ENROLL_CLOCK_HINT_H
#define DEVID_ENROLL_CLOCK_HINT_H

#include <stddef.h>

/* If `verify_error` (an X509_V_ERR_* code) is a verdict on time, appends to the string in
 * `buf` (of `size` bytes) what this device's clock reads (UTC) and the hint; else leaves it. */
void clock_hint_append(char *buf, size_t size, long verify_error);

#endif
