/* SPDX-License-Identifier: Apache-2.0 */
/* The store's attributes file: one "key=value" line each, '#' comments. */
#include "store_attrs.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- attribute files: "label=<percent-encoded>", "id=<hex>", "public_hidden=0|1",
 * "secret=1" (HMAC keys only), "value_len=N" (imported HMAC keys only), and for an object
 * renamed on its own "public_label=", "public_id=", "cert_label=", "cert_id=" (the public
 * key's or the certificate's name; absent: the group's), and for data objects "private=1",
 * "application=<percent-encoded>", "object_id=<hex>". ---- */

/* An own name equal to the group's is no own name: the file stays in the older format. */
static void normalize_name(const devid_store_attrs *a, devid_store_name *n)
{
    if (n->own && strcmp(n->label, a->label) == 0 && n->id_len == a->id_len &&
        memcmp(n->id, a->id, a->id_len) == 0)
        n->own = false;
    if (!n->own)
        memset(n, 0, sizeof(*n));
}

void store_attrs_normalize(devid_store_attrs *a)
{
    normalize_name(a, &a->pub);
    normalize_name(a, &a->cert);
}

/* Appends to out; once something did not fit, *n stays len (checked at the end). */
static void put(char *out, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *out, size_t len, size_t *n, const char *fmt, ...)
{
    if (*n >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *n, len - *n, fmt, ap);
    va_end(ap);
    *n = k < 0 || (size_t)k >= len - *n ? len : *n + (size_t)k;
}

static void put_label(char *out, size_t len, size_t *n, const char *key, const char *label)
{
    put(out, len, n, "%s=", key);
    for (const unsigned char *p = (const unsigned char *)label; *p; p++) {
        if (isalnum(*p) || strchr(" -_.:@/", *p))
            put(out, len, n, "%c", *p);
        else
            put(out, len, n, "%%%02X", *p);
    }
    put(out, len, n, "\n");
}

static void put_id(char *out, size_t len, size_t *n, const char *key, const unsigned char *id,
                   size_t id_len)
{
    put(out, len, n, "%s=", key);
    for (size_t i = 0; i < id_len; i++)
        put(out, len, n, "%02x", id[i]);
    put(out, len, n, "\n");
}

devid_rc store_attrs_encode(const devid_store_attrs *attrs, char *out, size_t len)
{
    devid_store_attrs a = *attrs;
    store_attrs_normalize(&a);
    size_t n = 0;
    put(out, len, &n, "# devid store object\n");
    put_label(out, len, &n, "label", a.label);
    put_id(out, len, &n, "id", a.id, a.id_len);
    put(out, len, &n, "public_hidden=%d\n", a.public_hidden ? 1 : 0);
    if (a.token_bound) /* only when set: older readers refuse unknown ones */
        put(out, len, &n, "token_bound=1\n");
    if (a.secret)
        put(out, len, &n, "secret=1\n");
    if (a.value_len)
        put(out, len, &n, "value_len=%zu\n", a.value_len);
    if (a.data_private)
        put(out, len, &n, "private=1\n");
    if (a.application[0])
        put_label(out, len, &n, "application", a.application);
    if (a.object_id_len)
        put_id(out, len, &n, "object_id", a.object_id, a.object_id_len);
    if (a.pub.own) {
        put_label(out, len, &n, "public_label", a.pub.label);
        put_id(out, len, &n, "public_id", a.pub.id, a.pub.id_len);
    }
    if (a.cert.own) {
        put_label(out, len, &n, "cert_label", a.cert.label);
        put_id(out, len, &n, "cert_id", a.cert.id, a.cert.id_len);
    }
    if (n >= len)
        return devid_fail(DEVID_ERR_ARG, "attributes too long");
    return DEVID_OK;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool decode_label(const char *s, char *out, size_t len)
{
    size_t n = 0;
    for (; *s; s++) {
        int c = (unsigned char)*s;
        if (c == '%') {
            int hi = hexval(s[1]), lo = hi >= 0 ? hexval(s[2]) : -1;
            if (lo < 0)
                return false;
            c = hi * 16 + lo;
            s += 2;
        }
        if (c == 0 || n + 1 >= len)
            return false;
        out[n++] = (char)c;
    }
    out[n] = '\0';
    return true;
}

static bool decode_hex(const char *s, unsigned char *out, size_t max, size_t *len)
{
    size_t n = strlen(s);
    if (n % 2 || n / 2 > max)
        return false;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n / 2;
    return true;
}

devid_rc devid_store_parse_attrs(const char *text, size_t len, devid_store_attrs *a)
{
    memset(a, 0, sizeof(*a));
    char *copy = strndup(text, len);
    if (!copy)
        return devid_fail(DEVID_ERR_MEMORY, "attributes");
    devid_rc rc = DEVID_OK;
    char *save = NULL;
    bool seen[4] = { false }; /* public_label, public_id, cert_label, cert_id */
    for (char *line = strtok_r(copy, "\n", &save); line && rc == DEVID_OK;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *eq = strchr(line, '=');
        if (!eq) {
            rc = devid_fail(DEVID_ERR_FORMAT, "attribute line without '='");
            break;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "label") == 0) {
            if (!decode_label(v, a->label, sizeof(a->label)))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad label encoding");
        } else if (strcmp(line, "id") == 0) {
            if (!decode_hex(v, a->id, sizeof(a->id), &a->id_len))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad id encoding");
        } else if (strcmp(line, "public_label") == 0 || strcmp(line, "cert_label") == 0) {
            devid_store_name *nm = line[0] == 'p' ? &a->pub : &a->cert;
            seen[line[0] == 'p' ? 0 : 2] = true;
            if (!decode_label(v, nm->label, sizeof(nm->label)))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad %s encoding", line);
        } else if (strcmp(line, "public_id") == 0 || strcmp(line, "cert_id") == 0) {
            devid_store_name *nm = line[0] == 'p' ? &a->pub : &a->cert;
            seen[line[0] == 'p' ? 1 : 3] = true;
            if (!decode_hex(v, nm->id, sizeof(nm->id), &nm->id_len))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad %s encoding", line);
        } else if (strcmp(line, "token_bound") == 0) {
            if (strcmp(v, "1"))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad token_bound value");
            a->token_bound = true;
        } else if (strcmp(line, "public_hidden") == 0) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad public_hidden value");
            a->public_hidden = v[0] == '1';
        } else if (strcmp(line, "secret") == 0) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad secret value");
            a->secret = v[0] == '1';
        } else if (strcmp(line, "private") == 0) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad private value");
            a->data_private = v[0] == '1';
        } else if (strcmp(line, "application") == 0) {
            if (!decode_label(v, a->application, sizeof(a->application)))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad application encoding");
        } else if (strcmp(line, "object_id") == 0) {
            if (!decode_hex(v, a->object_id, sizeof(a->object_id), &a->object_id_len))
                rc = devid_fail(DEVID_ERR_FORMAT, "bad object_id encoding");
        } else if (strcmp(line, "value_len") == 0) {
            char *end = NULL;
            unsigned long n = strtoul(v, &end, 10);
            if (!isdigit((unsigned char)v[0]) || *end || n == 0 || n > DEVID_HMAC_IMPORT_MAX)
                rc = devid_fail(DEVID_ERR_FORMAT, "bad value_len value");
            a->value_len = n;
        } else {
            rc = devid_fail(DEVID_ERR_FORMAT, "unknown attribute '%s'", line);
        }
    }
    free(copy);
    /* An own name given in part takes the rest from the group's. */
    for (int k = 0; k < 2 && rc == DEVID_OK; k++) {
        devid_store_name *nm = k == 0 ? &a->pub : &a->cert;
        bool has_label = seen[2 * k], has_id = seen[2 * k + 1];
        nm->own = has_label || has_id;
        if (nm->own && !has_label)
            memcpy(nm->label, a->label, sizeof(nm->label));
        if (nm->own && !has_id) {
            memcpy(nm->id, a->id, a->id_len);
            nm->id_len = a->id_len;
        }
    }
    if (rc == DEVID_OK)
        store_attrs_normalize(a);
    return rc;
}
