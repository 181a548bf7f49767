/* SPDX-License-Identifier: Apache-2.0 */
/* The string escaping of devid-enroll's --json writer (enroll/json.c): the text it puts into
 * a JSON document comes from outside (a server's messages, certificate names, paths).
 *
 * Properties: the output is one JSON string (quoted, no raw control character, only the
 * escapes the writer uses: \" \\ \n \r \t \u00XX for other control characters, \ufffd);
 * unescaped it is UTF-8 (checked with iconv, an independent decoder); and unless a byte was
 * replaced by \ufffd it is the input byte for byte (so ASCII and well-formed UTF-8, U+FFFD
 * itself included, pass as they are).
 */
#include "fuzz.h"

#include "json.h"

#include <errno.h>
#include <iconv.h>
#include <stdbool.h>
#include <string.h>

/* Whether s[0..n) is UTF-8 as iconv reads it. */
static bool utf8_by_iconv(const char *s, size_t n)
{
    iconv_t cd = iconv_open("UTF-32LE", "UTF-8");
    FUZZ_ASSERT(cd != (iconv_t)-1, "iconv_open: %d", errno);
    char *out = malloc(4 * n + 4);
    FUZZ_ASSERT(out != NULL, "malloc");
    char *in = (char *)s, *o = out;
    size_t inleft = n, outleft = 4 * n + 4;
    bool ok = iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1 && inleft == 0;
    free(out);
    iconv_close(cd);
    return ok;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t tlen = strlen(text);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    FUZZ_ASSERT(f != NULL, "open_memstream");
    json_writer w = { .out = f };
    json_string(&w, NULL, text);
    fclose(f);
    FUZZ_ASSERT(len >= 2 && buf[0] == '"' && buf[len - 1] == '"', "not quoted: %s", buf);
    /* unescape (the writer's escapes only: \" \\ \n \r \t \u00XX \ufffd) */
    char *plain = malloc(3 * len + 1);
    FUZZ_ASSERT(plain != NULL, "malloc");
    size_t n = 0;
    bool replaced = false;
    for (size_t i = 1; i < len - 1; i++) {
        unsigned char c = (unsigned char)buf[i];
        FUZZ_ASSERT(c >= 0x20, "raw control byte 0x%02x", c);
        FUZZ_ASSERT(c != '"', "unescaped quote at %zu", i);
        if (c != '\\') {
            plain[n++] = (char)c;
            continue;
        }
        FUZZ_ASSERT(i + 1 < len - 1, "a backslash ends the string");
        char e = buf[++i];
        if (e == '"' || e == '\\')
            plain[n++] = e;
        else if (e == 'n')
            plain[n++] = '\n';
        else if (e == 'r')
            plain[n++] = '\r';
        else if (e == 't')
            plain[n++] = '\t';
        else if (e == 'u') {
            FUZZ_ASSERT(i + 4 < len - 1, "short \\u escape");
            if (memcmp(buf + i + 1, "fffd", 4) == 0) {
                memcpy(plain + n, "\xef\xbf\xbd", 3);
                n += 3;
                replaced = true;
            } else {
                FUZZ_ASSERT(buf[i + 1] == '0' && buf[i + 2] == '0' && hexval(buf[i + 3]) >= 0 &&
                                hexval(buf[i + 4]) >= 0,
                            "unexpected escape \\u%.4s", buf + i + 1);
                int v = hexval(buf[i + 3]) * 16 + hexval(buf[i + 4]);
                FUZZ_ASSERT(v < 0x20 && v != '\n' && v != '\r' && v != '\t',
                            "\\u%04x needs no escape", v);
                plain[n++] = (char)v;
            }
            i += 4;
        } else {
            FUZZ_ASSERT(false, "unknown escape \\%c", e);
        }
    }
    FUZZ_ASSERT(utf8_by_iconv(plain, n), "the string is not UTF-8");
    bool ascii = true;
    for (size_t i = 0; i < tlen; i++)
        ascii &= (unsigned char)text[i] < 0x80;
    FUZZ_ASSERT(!ascii || !replaced, "ASCII replaced");
    if (!replaced)
        FUZZ_ASSERT(n == tlen && memcmp(plain, text, n) == 0, "changed without a replacement");
    free(plain);
    free(buf);
    free(text);
    return 0;
}
