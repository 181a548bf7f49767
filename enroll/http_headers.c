/* SPDX-License-Identifier: Apache-2.0 */
#include "http_headers.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Copies a header's value (trimmed) if the line is that header. */
static void header_value(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return;
    const char *v = line + n + 1, *end = line + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    size_t vlen = (size_t)(end - v) < outlen - 1 ? (size_t)(end - v) : outlen - 1;
    while (vlen && isspace((unsigned char)v[vlen - 1])) /* a cut may end in white space */
        vlen--;
    memcpy(out, v, vlen);
    out[vlen] = '\0';
}

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* challenge = scheme [ 1*SP ( token68 / #auth-param ) ]; challenges are separated by commas,
 * as are auth-params: a token that is not followed by '=' where a challenge or parameter
 * starts is a scheme. */
unsigned est_parse_auth_schemes(const char *v, size_t len)
{
    unsigned found = 0;
    size_t i = 0;
    bool item_start = true;
    while (i < len) {
        char c = v[i];
        if (c == '"') { /* a quoted string: skip it, escapes and all */
            for (i++; i < len && v[i] != '"'; i++)
                if (v[i] == '\\')
                    i++;
            i++;
            item_start = false;
            continue;
        }
        if (c == ',') {
            item_start = true;
            i++;
            continue;
        }
        if (c == ' ' || c == '\t') {
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && is_tchar(v[i]))
            i++;
        if (i == start) { /* anything else: not ours to understand */
            i++;
            item_start = false;
            continue;
        }
        size_t j = i;
        while (j < len && (v[j] == ' ' || v[j] == '\t'))
            j++;
        bool param = j < len && v[j] == '=';
        if (item_start && !param) {
            size_t n = i - start;
            found |= n == 5 && strncasecmp(v + start, "Basic", 5) == 0    ? EST_SCHEME_BASIC
                     : n == 6 && strncasecmp(v + start, "Digest", 6) == 0 ? EST_SCHEME_DIGEST
                                                                          : EST_SCHEME_OTHER;
        }
        /* after a scheme come its parameters (or token68) up to the next comma */
        item_start = false;
        while (i < len && v[i] == '=') /* token68 padding, or the '=' of a parameter */
            i++;
    }
    return found;
}

void est_parse_header_line(const char *line, size_t len, est_headers *h)
{
    /* A NUL byte has no place in a header: the line ends there (so a value is never a C
     * string with white space before an embedded NUL). */
    const char *nul = memchr(line, '\0', len);
    if (nul)
        len = (size_t)(nul - line);
    header_value(line, len, "Content-Type", h->content_type, sizeof(h->content_type));
    header_value(line, len, "Retry-After", h->retry_after, sizeof(h->retry_after));
    header_value(line, len, "Location", h->location, sizeof(h->location));
    static const char www[] = "WWW-Authenticate:";
    if (len >= sizeof(www) - 1 && strncasecmp(line, www, sizeof(www) - 1) == 0)
        h->auth_offered |= est_parse_auth_schemes(line + sizeof(www) - 1, len - (sizeof(www) - 1));
}

long est_parse_retry_after(const char *value, long now)
{
    if (!value || !*value)
        return -1;
    bool digits = true;
    for (const char *p = value; *p; p++)
        digits = digits && isdigit((unsigned char)*p);
    if (digits) {
        if (strlen(value) > 9)
            return -1;
        return strtol(value, NULL, 10);
    }
    time_t when = curl_getdate(value, NULL);
    if (when == (time_t)-1)
        return -1;
    return when > now ? (long)(when - now) : 0;
}
