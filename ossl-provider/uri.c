/* SPDX-License-Identifier: Apache-2.0 */
/* devid: URI parsing (see uri.h). Pure: no TPM, no OpenSSL state. */
#include "uri.h"

#include <openssl/crypto.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PIN_MAX 256

static bool fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..len) into out (capacity cap). Returns the decoded length or -1. */
static long pct_decode(const char *s, size_t len, unsigned char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (unsigned char)(hi << 4 | lo);
            i += 2;
        } else if (c < 0x21 || c > 0x7e) {
            return -1; /* RFC 3986: no raw spaces or non-ASCII */
        }
        if (n >= cap)
            return -2;
        out[n++] = c;
    }
    return (long)n;
}

/* Decodes a text value (no NUL bytes) into a malloc'd string. */
static bool text_value(const char *name, const char *v, size_t len, size_t max, char **out,
                       size_t *outlen, char *err, size_t errlen)
{
    unsigned char *buf = malloc(len + 1);
    if (!buf)
        return fail(err, errlen, "out of memory");
    long n = pct_decode(v, len, buf, len);
    if (n < 0 || memchr(buf, 0, (size_t)n)) {
        free(buf);
        return fail(err, errlen, "%s: bad percent-encoding or character in \"%.*s\"", name,
                    (int)len, v);
    }
    if ((size_t)n > max) {
        free(buf);
        return fail(err, errlen, "%s: longer than %zu characters", name, max);
    }
    buf[n] = '\0';
    *out = (char *)buf;
    if (outlen)
        *outlen = (size_t)n;
    return true;
}

/* pin-source: a file (RFC 7512: "file:" URI or an absolute path). Other sources (commands,
 * the environment) are refused: a PIN never comes from an inherited environment. */
static bool read_pin_file(const char *src, dp_uri *u, char *err, size_t errlen)
{
    const char *path = strncmp(src, "file:", 5) == 0 ? src + 5 : src;
    if (strncmp(path, "///", 3) == 0) /* file:///path */
        path += 2;
    if (path[0] != '/')
        return fail(err, errlen, "pin-source \"%s\": only file:/ABSOLUTE/PATH is supported", src);
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(err, errlen, "pin-source %s: %s", path, strerror(errno));
    char buf[PIN_MAX + 2];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    if (n > PIN_MAX) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return fail(err, errlen, "pin-source %s: longer than %d bytes", path, PIN_MAX);
    }
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        n--;
    if (n == 0)
        return fail(err, errlen, "pin-source %s: empty", path);
    u->pin = malloc(n + 1);
    if (!u->pin) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return fail(err, errlen, "out of memory");
    }
    memcpy(u->pin, buf, n);
    u->pin[n] = '\0';
    u->pin_len = n;
    OPENSSL_cleanse(buf, sizeof(buf));
    return true;
}

static bool is_ignored(const char *name, size_t len)
{
    static const char *const ignored[] = { "token",
                                           "manufacturer",
                                           "serial",
                                           "model",
                                           "library-manufacturer",
                                           "library-description",
                                           "library-version",
                                           "slot-id",
                                           "slot-description",
                                           "slot-manufacturer" };
    for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
        if (strlen(ignored[i]) == len && strncmp(ignored[i], name, len) == 0)
            return true;
    return false;
}

#define NAME_IS(s) (nlen == strlen(s) && strncmp(name, s, nlen) == 0)

static bool path_attr(dp_uri *u, const char *name, size_t nlen, const char *v, size_t vlen,
                      unsigned *seen, char *err, size_t errlen)
{
    unsigned bit;
    if (NAME_IS("object"))
        bit = 1;
    else if (NAME_IS("id"))
        bit = 2;
    else if (NAME_IS("type"))
        bit = 4;
    else if (NAME_IS("handle"))
        bit = 8;
    else if (is_ignored(name, nlen))
        return true;
    else
        return fail(err, errlen, "unknown attribute \"%.*s\"", (int)nlen, name);
    if (*seen & bit)
        return fail(err, errlen, "attribute \"%.*s\" given twice", (int)nlen, name);
    *seen |= bit;

    if (bit == 1) {
        if (!text_value("object", v, vlen, DEVID_LABEL_MAX, &u->object, NULL, err, errlen))
            return false;
        if (!u->object[0])
            return fail(err, errlen, "object: empty label");
        return true;
    }
    if (bit == 2) {
        long n = pct_decode(v, vlen, u->id, sizeof(u->id));
        if (n == -2)
            return fail(err, errlen, "id: longer than %d bytes", DEVID_ID_MAX);
        if (n <= 0)
            return fail(err, errlen, "id: bad or empty value \"%.*s\"", (int)vlen, v);
        u->id_len = (size_t)n;
        u->has_id = true;
        return true;
    }
    char buf[32];
    long n = pct_decode(v, vlen, (unsigned char *)buf, sizeof(buf) - 1);
    if (n < 0)
        return fail(err, errlen, "%.*s: bad value \"%.*s\"", (int)nlen, name, (int)vlen, v);
    buf[n] = '\0';
    if (bit == 4) {
        if (!strcmp(buf, "private"))
            u->type = DP_URI_PRIVATE;
        else if (!strcmp(buf, "public"))
            u->type = DP_URI_PUBLIC;
        else if (!strcmp(buf, "cert"))
            u->type = DP_URI_CERT;
        else
            return fail(err, errlen, "type: \"%s\" is not private, public or cert", buf);
        return true;
    }
    char *end = NULL;
    errno = 0;
    unsigned long h = strtoul(buf, &end, 16);
    if (!buf[0] || *end || errno || h > 0xffffffffUL || (h >> 24) != 0x81)
        return fail(err, errlen, "handle: \"%s\" is not a persistent handle (0x81xxxxxx)", buf);
    u->handle = (uint32_t)h;
    return true;
}

static bool query_attr(dp_uri *u, const char *name, size_t nlen, const char *v, size_t vlen,
                       unsigned *seen, char *err, size_t errlen)
{
    if (NAME_IS("pin-value") || NAME_IS("pin-source")) {
        if (*seen & 16)
            return fail(err, errlen, "more than one pin-value / pin-source");
        *seen |= 16;
        if (NAME_IS("pin-value")) {
            if (vlen == 0)
                return fail(err, errlen, "pin-value: empty");
            return text_value("pin-value", v, vlen, PIN_MAX, &u->pin, &u->pin_len, err, errlen);
        }
        char *src = NULL;
        if (!text_value("pin-source", v, vlen, 4096, &src, NULL, err, errlen))
            return false;
        bool ok = read_pin_file(src, u, err, errlen);
        free(src);
        return ok;
    }
    if (NAME_IS("module-name") || NAME_IS("module-path"))
        return true;
    return fail(err, errlen, "unknown query attribute \"%.*s\"", (int)nlen, name);
}

bool dp_uri_parse(const char *uri, dp_uri *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (strncasecmp(uri, "devid:", 6) != 0)
        return fail(err, errlen, "not a devid: URI");
    const char *p = uri + 6;
    unsigned seen = 0;
    bool in_query = false;
    while (*p) {
        const char *sep = in_query ? "&" : ";?";
        size_t len = strcspn(p, sep);
        if (len > 0) {
            const char *eq = memchr(p, '=', len);
            if (!eq || eq == p) {
                dp_uri_clear(out);
                return fail(err, errlen, "\"%.*s\" is not attribute=value", (int)len, p);
            }
            size_t nlen = (size_t)(eq - p), vlen = len - nlen - 1;
            bool ok = in_query ? query_attr(out, p, nlen, eq + 1, vlen, &seen, err, errlen)
                               : path_attr(out, p, nlen, eq + 1, vlen, &seen, err, errlen);
            if (!ok) {
                dp_uri_clear(out);
                return false;
            }
        }
        p += len;
        if (*p == '?') {
            if (in_query) {
                dp_uri_clear(out);
                return fail(err, errlen, "second '?' in the URI");
            }
            in_query = true;
        }
        if (*p)
            p++;
    }
    return true;
}

void dp_uri_clear(dp_uri *u)
{
    free(u->object);
    if (u->pin) {
        OPENSSL_cleanse(u->pin, u->pin_len);
        free(u->pin);
    }
    memset(u, 0, sizeof(*u));
}
