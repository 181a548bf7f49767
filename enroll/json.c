/* SPDX-License-Identifier: Apache-2.0 */
#include "json.h"

#include "subject.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <unistd.h>

static FILE *document_stream;

bool json_take_stdout(void)
{
    fflush(stdout);
    int fd = dup(STDOUT_FILENO);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return false;
    }
    if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
        fclose(f);
        return false;
    }
    document_stream = f;
    return true;
}

FILE *json_stream(void)
{
    return document_stream ? document_stream : stdout;
}

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        lo = p[0] == 0xe0 ? 0xa0 : 0x80;
        hi = p[0] == 0xed ? 0x9f : 0xbf;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        lo = p[0] == 0xf0 ? 0x90 : 0x80;
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* A JSON string: UTF-8 as it is, the characters JSON requires escaped, and any byte that is
 * not part of well-formed UTF-8 (a server's message, a path) as U+FFFD, so the document
 * always parses. */
static void put_escaped(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", out);
            break;
        case '\\':
            fputs("\\\\", out);
            break;
        case '\n':
            fputs("\\n", out);
            break;
        case '\r':
            fputs("\\r", out);
            break;
        case '\t':
            fputs("\\t", out);
            break;
        default:
            if (*p < 0x20) {
                fprintf(out, "\\u%04x", *p);
            } else if (*p < 0x80) {
                fputc(*p, out);
            } else {
                size_t n = utf8_len(p);
                if (n) {
                    fwrite(p, 1, n, out);
                    p += n - 1;
                } else {
                    fputs("\\ufffd", out);
                }
            }
        }
    }
    fputc('"', out);
}

static void prefix(json_writer *w, const char *key)
{
    if (w->depth > 0 && w->need_comma[w->depth])
        fputc(',', w->out);
    if (w->depth > 0) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
    }
    if (w->depth > 0)
        w->need_comma[w->depth] = true;
    if (key) {
        put_escaped(w->out, key);
        fputs(": ", w->out);
    }
}

bool json_document_written;

static void open_(json_writer *w, const char *key, char c)
{
    if (w->depth == 0 && w->out == json_stream())
        json_document_written = true;
    prefix(w, key);
    fputc(c, w->out);
    if (w->depth < 31)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_(json_writer *w, char c)
{
    bool had = w->need_comma[w->depth];
    if (w->depth > 0)
        w->depth--;
    if (had) {
        fputc('\n', w->out);
        for (int i = 0; i < w->depth; i++)
            fputs("  ", w->out);
    }
    fputc(c, w->out);
    if (w->depth == 0) {
        fputc('\n', w->out);
        fflush(w->out);
    }
}

void json_begin_object(json_writer *w, const char *key)
{
    open_(w, key, '{');
}
void json_end_object(json_writer *w)
{
    close_(w, '}');
}
void json_begin_array(json_writer *w, const char *key)
{
    open_(w, key, '[');
}
void json_end_array(json_writer *w)
{
    close_(w, ']');
}

void json_string(json_writer *w, const char *key, const char *value)
{
    prefix(w, key);
    if (value)
        put_escaped(w->out, value);
    else
        fputs("null", w->out);
}

void json_int(json_writer *w, const char *key, long long value)
{
    prefix(w, key);
    fprintf(w->out, "%lld", value);
}

void json_bool(json_writer *w, const char *key, bool value)
{
    prefix(w, key);
    fputs(value ? "true" : "false", w->out);
}

void json_time(json_writer *w, const char *key, time_t t)
{
    struct tm tm;
    char buf[32];
    if (t > 0 && gmtime_r(&t, &tm) && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        json_string(w, key, buf);
    else
        json_string(w, key, NULL);
}

static void asn1_time(json_writer *w, const char *key, const ASN1_TIME *t)
{
    struct tm tm;
    char buf[32];
    if (ASN1_TIME_to_tm(t, &tm) == 1 && strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        json_string(w, key, buf);
    else
        json_string(w, key, NULL);
}

void json_cert_fields(json_writer *w, const X509 *cert)
{
    char name[1024];
    enroll_subject_to_string(X509_get_subject_name(cert), name, sizeof(name));
    json_string(w, "subject", name);
    enroll_subject_to_string(X509_get_issuer_name(cert), name, sizeof(name));
    json_string(w, "issuer", name);
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    json_string(w, "serial", hex);
    OPENSSL_free(hex);
    BN_free(bn);
    asn1_time(w, "not_before", X509_get0_notBefore(cert));
    asn1_time(w, "not_after", X509_get0_notAfter(cert));
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    char fp[3 * EVP_MAX_MD_SIZE + 1] = "";
    if (X509_digest(cert, EVP_sha256(), md, &n) == 1) {
        for (unsigned int i = 0; i < n; i++)
            snprintf(fp + 3 * i, sizeof(fp) - 3 * i, "%02X%s", md[i], i + 1 < n ? ":" : "");
    }
    json_string(w, "sha256", fp[0] ? fp : NULL);
}

void json_begin_command(json_writer *w, const char *cmd)
{
    *w = (json_writer){ .out = json_stream() };
    json_begin_object(w, NULL);
    json_string(w, "command", cmd);
}

void json_end_command(json_writer *w, int exit_code)
{
    json_bool(w, "ok", exit_code == 0);
    json_int(w, "exit_code", exit_code);
    json_end_object(w);
}

void json_print_error(const char *cmd, int code, const char *message)
{
    json_writer w;
    json_begin_command(&w, cmd);
    json_string(&w, "error", message && *message ? message : "failed (see stderr)");
    json_end_command(&w, code);
}
