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
