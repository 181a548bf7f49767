/* SPDX-License-Identifier: Apache-2.0 */
/* revocation_cache_parse / revocation_cache_format (enroll/revocation_cache.h): the records
 * of devid-enroll's revocation cache.
 *
 * Properties: an accepted record is a revocation, or a good answer whose nextUpdate is after
 * `now`; formatting an accepted record and parsing it again gives the same result. */
#include "fuzz.h"

#include "revocation_cache.h"

#include <string.h>

#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    revocation_result r;
    if (!revocation_cache_parse((const char *)data, size, NOW, &r))
        return 0;
    FUZZ_ASSERT(r.status == REVOCATION_REVOKED ||
                    (r.status == REVOCATION_GOOD && r.next_update > NOW),
                "accepted status %d, next %lld", (int)r.status, (long long)r.next_update);
    FUZZ_ASSERT(r.cached && r.source && memchr(r.url, '\0', sizeof(r.url)), "fields");
    char text[512];
    FUZZ_ASSERT(revocation_cache_format(&r, text, sizeof(text)),
                "cannot format an accepted record");
    revocation_result back;
    FUZZ_ASSERT(revocation_cache_parse(text, strlen(text), NOW, &back), "own record refused: %s",
                text);
    FUZZ_ASSERT(back.status == r.status && back.next_update == r.next_update &&
                    back.revoked_at == r.revoked_at && strcmp(back.source, r.source) == 0 &&
                    strcmp(back.url, r.url) == 0,
                "round trip changed the record: %s", text);
    return 0;
}
