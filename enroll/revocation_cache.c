/* SPDX-License-Identifier: Apache-2.0 */
#include "revocation_cache.h"

#include <stdio.h>
#include <string.h>

bool revocation_cache_format(const revocation_result *r, char *buf, size_t len)
{
    if (!(r->status == REVOCATION_GOOD && r->next_update > 0) && r->status != REVOCATION_REVOKED)
        return false;
    if (strpbrk(r->url, " \t\r\n"))
        return false; /* (URLs from certificates have none; a record is one line) */
    int n = snprintf(buf, len, "%d %lld %lld %s %s\n", (int)r->status, (long long)r->next_update,
                     (long long)r->revoked_at,
                     r->source && strcmp(r->source, "crl") == 0 ? "crl" : "ocsp",
                     r->url[0] ? r->url : "-");
    return n > 0 && (size_t)n < len;
}

bool revocation_cache_parse(const char *text, size_t len, time_t now, revocation_result *r)
{
    char line[512], source[8] = "", url[256] = "";
    if (len == 0 || len >= sizeof(line) || memchr(text, '\0', len))
        return false;
    memcpy(line, text, len);
    line[len] = '\0';
    int status = 0, used = 0;
    long long next = 0, revoked = 0;
    if (sscanf(line, "%d %lld %lld %7s %255s%n", &status, &next, &revoked, source, url, &used) != 5)
        return false;
    if (strcmp(line + used, "\n") != 0 && line[used] != '\0')
        return false; /* one record, one line */
    if ((status != REVOCATION_GOOD && status != REVOCATION_REVOKED) || next < 0 || revoked < 0 ||
        (strcmp(source, "ocsp") != 0 && strcmp(source, "crl") != 0))
        return false;
    if (status == REVOCATION_GOOD && (next == 0 || next <= (long long)now))
        return false;
    memset(r, 0, sizeof(*r));
    r->status = (revocation_status)status;
    r->next_update = (time_t)next;
    r->revoked_at = (time_t)revoked;
    r->source = strcmp(source, "crl") == 0 ? "crl" : "ocsp";
    snprintf(r->url, sizeof(r->url), "%s", strcmp(url, "-") == 0 ? "" : url);
    r->cached = true;
    return true;
}
