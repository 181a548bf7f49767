/* SPDX-License-Identifier: Apache-2.0 */
/* The HTTP response headers devid-enroll acts on, parsed one line at a time as libcurl hands
 * them to CURLOPT_HEADERFUNCTION (status line, "Name: value\r\n" lines, the empty line; from
 * the server: untrusted). */
#ifndef DEVID_HTTP_HEADERS_H
#define DEVID_HTTP_HEADERS_H

#include <stddef.h>

/* HTTP authentication schemes (WWW-Authenticate). */
enum { EST_SCHEME_BASIC = 1, EST_SCHEME_DIGEST = 2, EST_SCHEME_OTHER = 4 };

typedef struct est_headers {
    char content_type[128]; /* values trimmed, cut at the buffer's size, always terminated */
    char retry_after[128];
    char location[256];
    unsigned auth_offered; /* EST_SCHEME_* of every WWW-Authenticate challenge */
} est_headers;

/* Takes the value of Content-Type, Retry-After or Location (names case-insensitive) from one
 * header line of `len` bytes (not NUL-terminated; a NUL byte ends the line); other lines leave
 * `h` as it is. A later line of the same name replaces the earlier value. WWW-Authenticate
 * lines add the schemes of their challenges (one line may hold several, comma-separated) to
 * auth_offered. */
void est_parse_header_line(const char *line, size_t len, est_headers *h);

/* The schemes of a WWW-Authenticate value (RFC 9110 11.6.1) as EST_SCHEME_* bits. */
unsigned est_parse_auth_schemes(const char *value, size_t len);

/* Seconds from `now` until a Retry-After value (delta-seconds or HTTP-date); -1 if invalid. */
long est_parse_retry_after(const char *value, long now);

#endif
