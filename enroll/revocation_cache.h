/* SPDX-License-Identifier: Apache-2.0 */
/* The revocation cache's one-line records (STORE/revocation/<sha256 of the certificate>):
 * "STATUS NEXT_UPDATE REVOKED_AT SOURCE URL\n", times in seconds since the epoch. Pure
 * functions, fuzzed (the files are local state, but a parser all the same). */
#ifndef DEVID_ENROLL_REVOCATION_CACHE_H
#define DEVID_ENROLL_REVOCATION_CACHE_H

#include "revocation.h"

#include <stddef.h>

/* The record for r (good with a nextUpdate, or revoked), into buf; false if r is not worth
 * caching or does not fit. */
bool revocation_cache_format(const revocation_result *r, char *buf, size_t len);

/* Fills r from a record if it still holds at `now`: a revocation always, a good answer
 * until its nextUpdate. False for anything else (the answer is then asked for anew). */
bool revocation_cache_parse(const char *text, size_t len, time_t now, revocation_result *r);

#endif
