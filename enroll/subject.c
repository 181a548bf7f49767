/* SPDX-License-Identifier: Apache-2.0 */
/* --subject: RFC 4514 distinguished names in (the parser below: OpenSSL has no public one),
 * printed back out by OpenSSL with UTF-8 kept as UTF-8. */
#include "subject.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SUBJECT_MAX 4096

/* RFC 4514 printing, but characters beyond ASCII as UTF-8 instead of \XX escapes. */
#define PRINT_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads one value from *p up to an unescaped separator (returned, or '\0' at the end) into
 * val (*vlen bytes; unescaped leading and trailing spaces are not part of it). */
static devid_rc read_value(const char **p, bool slash, const char *type, unsigned char *val,
                           size_t *vlen, char *sep)
{
    const char *s = *p;
    size_t n = 0, keep = 0;
    *sep = '\0';
    while (*s == ' ')
        s++;
    if (*s == '#')
        return devid_fail(DEVID_ERR_ARG,
                          "subject: %s: hex-encoded values (#...) are not "
                          "supported: write the value as text",
                          type);
    while (*s) {
        char c = *s;
        if ((c == ',' && !slash) || c == '+' || (c == '/' && slash)) {
            *sep = c;
            s++;
            break;
        }
        if (c == '\\') {
            int h = s[1] ? hexval(s[1]) : -1, l = h >= 0 && s[2] ? hexval(s[2]) : -1;
            if (h >= 0 && l >= 0) {
                val[n++] = (unsigned char)(h << 4 | l);
                s += 3;
            } else if (s[1] && strchr("\"+,;<>\\ #=/", s[1])) {
                val[n++] = (unsigned char)s[1];
                s += 2;
            } else {
                return devid_fail(DEVID_ERR_ARG,
                                  "subject: %s: bad escape '\\%.1s' (RFC 4514: "
                                  "\\ and one of \" + , ; < > \\ # = space, or two hex digits)",
                                  type, s + 1);
            }
            if (val[n - 1] == '\0')
                return devid_fail(DEVID_ERR_ARG, "subject: %s: NUL bytes are not allowed", type);
            keep = n;
            continue;
        }
        if (strchr("\";<>", c))
            return devid_fail(DEVID_ERR_ARG,
                              "subject: %s: '%c' must be escaped as \\%c "
                              "(RFC 4514)",
                              type, c, c);
        val[n++] = (unsigned char)c;
        s++;
        if (c != ' ')
            keep = n;
    }
    *vlen = keep;
    *p = s;
    return DEVID_OK;
}

devid_rc enroll_subject_parse(const char *text, X509_NAME **out)
{
    *out = NULL;
    size_t len = strlen(text);
    if (len > SUBJECT_MAX)
        return devid_fail(DEVID_ERR_ARG, "subject: longer than %d bytes", SUBJECT_MAX);
    bool slash = text[0] == '/';
    const char *p = slash ? text + 1 : text;
    X509_NAME *name = X509_NAME_new();
    char *type = malloc(len + 1);
    unsigned char *val = malloc(len + 1);
    devid_rc rc = name && type && val ? DEVID_OK : devid_fail(DEVID_ERR_MEMORY, "subject");
    int set = 0; /* 0: a new RDN; -1: the previous RDN gets another value ('+') */
    while (rc == DEVID_OK && *p) {
        while (*p == ' ')
            p++;
        size_t tn = 0;
        while (*p && *p != '=' && *p != ',' && *p != '+' && !(slash && *p == '/'))
            type[tn++] = *p++;
        while (tn > 0 && type[tn - 1] == ' ')
            tn--;
        type[tn] = '\0';
        if (*p != '=' || tn == 0) {
            rc = devid_fail(DEVID_ERR_ARG, "subject: '%s' is not TYPE=value", type);
            break;
        }
        p++;
        size_t vn = 0;
        char sep;
        rc = read_value(&p, slash, type, val, &vn, &sep);
        if (rc != DEVID_OK)
            break;
        if (vn == 0) {
            rc = devid_fail(DEVID_ERR_ARG, "subject: %s has no value", type);
            break;
        }
        ASN1_OBJECT *obj = OBJ_txt2obj(type, 0);
        if (!obj) {
            rc = devid_fail(DEVID_ERR_ARG, "subject: unknown attribute type '%s'", type);
            break;
        }
        ERR_clear_error();
        if (X509_NAME_add_entry_by_OBJ(name, obj, MBSTRING_UTF8, val, (int)vn, -1, set) != 1) {
            const char *why = ERR_reason_error_string(ERR_peek_last_error());
            rc = devid_fail(DEVID_ERR_ARG, "subject: %s: value refused (%s)", type,
                            why ? why : "not valid for this attribute");
        }
        ASN1_OBJECT_free(obj);
        set = sep == '+' ? -1 : 0;
        if (rc == DEVID_OK && sep && !*p)
            rc = devid_fail(DEVID_ERR_ARG, "subject: ends with '%c'", sep);
    }
    if (rc == DEVID_OK && X509_NAME_entry_count(name) == 0)
        rc = devid_fail(DEVID_ERR_ARG, "subject: empty");
    ERR_clear_error();
    free(type);
    if (val)
        OPENSSL_cleanse(val, len + 1);
    free(val);
    if (rc != DEVID_OK) {
        X509_NAME_free(name);
        return rc;
    }
    *out = name;
    return DEVID_OK;
}

void enroll_subject_print(FILE *f, const X509_NAME *name)
{
    if (X509_NAME_print_ex_fp(f, name, 0, PRINT_FLAGS) < 0)
        fputs("(unprintable)", f);
}

void enroll_subject_to_string(const X509_NAME *name, char *buf, size_t n)
{
    BIO *bio = BIO_new(BIO_s_mem());
    buf[0] = '\0';
    if (bio && X509_NAME_print_ex(bio, name, 0, PRINT_FLAGS) >= 0) {
        int len = BIO_read(bio, buf, (int)n - 1);
        buf[len > 0 ? len : 0] = '\0';
    }
    BIO_free(bio);
}
