/* SPDX-License-Identifier: Apache-2.0 */
/* est_parse_header_line / est_parse_retry_after (enroll/http_headers.h): the response headers
 * devid-enroll acts on, fed line by line as libcurl hands them to CURLOPT_HEADERFUNCTION.
 *
 * The input is a response head; each line (up to and including '\n') is passed as libcurl
 * passes it: a length, no terminating NUL. Properties: every value stays terminated inside its
 * buffer and has no leading or trailing white space; a value is a byte-exact (prefix of the)
 * trimmed text after "Name:" of the last line with that name (a NUL ends a line); Retry-After gives -1 or a
 * number of seconds in 0..999999999 for delta-seconds, and never a negative wait otherwise. */
#include "fuzz.h"

#include "http_headers.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

static void check_value(const char *v, size_t size, const char *what)
{
    size_t n = strnlen(v, size);
    FUZZ_ASSERT(n < size, "%s not terminated", what);
    if (n)
        FUZZ_ASSERT(!isspace((unsigned char)v[0]) && !isspace((unsigned char)v[n - 1]),
                    "%s not trimmed", what);
}

/* The trimmed value of `name` in the last line that has it, cut to size - 1 (reference). */
static void expected(const uint8_t *data, size_t size, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    out[0] = '\0';
    for (size_t at = 0; at < size;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        const char *line = (const char *)data + at;
        at += len;
        const char *nul = memchr(line, '\0', len); /* a NUL ends the line */
        if (nul)
            len = (size_t)(nul - line);
        if (len <= nlen || strncasecmp(line, name, nlen) != 0 || line[nlen] != ':')
            continue;
        size_t b = nlen + 1, e = len;
        while (b < e && isspace((unsigned char)line[b]))
            b++;
        while (e > b && isspace((unsigned char)line[e - 1]))
            e--;
        size_t n = e - b < outlen - 1 ? e - b : outlen - 1;
        while (n && isspace((unsigned char)line[b + n - 1]))
            n--;
        memcpy(out, line + b, n);
        out[n] = '\0';
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    est_headers h;
    memset(&h, 0, sizeof(h));
    for (size_t at = 0; at < size;) {
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t len = nl ? (size_t)(nl - (data + at)) + 1 : size - at;
        /* an exact-size copy, so reading past the line is an ASan report */
        char *line = malloc(len);
        FUZZ_ASSERT(line, "malloc");
        memcpy(line, data + at, len);
        est_parse_header_line(line, len, &h);
        free(line);
        at += len;
    }
    check_value(h.content_type, sizeof(h.content_type), "Content-Type");
    check_value(h.retry_after, sizeof(h.retry_after), "Retry-After");
    check_value(h.location, sizeof(h.location), "Location");

    char ref[256];
    expected(data, size, "Content-Type", ref, sizeof(h.content_type));
    FUZZ_ASSERT(!strcmp(ref, h.content_type), "Content-Type differs from the reference");
    expected(data, size, "Retry-After", ref, sizeof(h.retry_after));
    FUZZ_ASSERT(!strcmp(ref, h.retry_after), "Retry-After differs from the reference");
    expected(data, size, "Location", ref, sizeof(h.location));
    FUZZ_ASSERT(!strcmp(ref, h.location), "Location differs from the reference");

    long now = 1700000000;
    long wait = est_parse_retry_after(h.retry_after, now);
    FUZZ_ASSERT(wait >= -1, "negative wait %ld", wait);
    bool digits = h.retry_after[0] != '\0';
    for (const char *p = h.retry_after; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (digits)
        FUZZ_ASSERT(strlen(h.retry_after) > 9 ? wait == -1
                                              : wait == strtol(h.retry_after, NULL, 10),
                    "delta-seconds '%s' gave %ld", h.retry_after, wait);
    return 0;
}
