/* SPDX-License-Identifier: Apache-2.0 */
/* est_base64_decode / est_base64_encode (enroll/est_msg.h): EST message bodies, base64 with
 * any whitespace (RFC 8951 2.1), and trailing NULs, as received from the enrollment server.
 *
 * Properties: the decoder agrees with a strict RFC 4648 reference (below) on what is valid and
 * on the bytes; encoding any input (this one included) gives CRLF lines of at most 64
 * characters that decode back to it. */
#include "fuzz.h"

#include "est_msg.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict reference: whitespace ignored, NUL bytes ignored after the last base64 character
 * (anywhere else they are invalid), quads of the alphabet, '=' only as one or two final
 * pad characters, at least one quad. Bits left over by the padding are ignored. Returns the
 * decoded length into out (big enough: len bytes), or -1. */
static long reference(const unsigned char *in, size_t len, unsigned char *out)
{
    unsigned char *clean = malloc(len ? len : 1);
    FUZZ_ASSERT(clean, "malloc");
    while (len && (in[len - 1] == 0 || isspace(in[len - 1])))
        len--;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (!isspace(in[i]))
            clean[n++] = in[i];
    long outlen = -1;
    if (n && n % 4 == 0) {
        size_t pad = clean[n - 1] == '=' ? (clean[n - 2] == '=' ? 2 : 1) : 0;
        bool ok = true;
        outlen = 0;
        for (size_t q = 0; ok && q < n; q += 4) {
            unsigned v = 0;
            size_t data = q + 4 == n ? 4 - pad : 4;
            for (size_t j = 0; j < 4; j++) {
                int d = j < data ? b64val(clean[q + j]) : 0;
                ok = ok && d >= 0;
                v = v << 6 | (unsigned)(d < 0 ? 0 : d);
            }
            for (size_t j = 0; j + 1 < data; j++)
                out[outlen++] = (unsigned char)(v >> (16 - 8 * j));
        }
        if (!ok)
            outlen = -1;
    }
    free(clean);
    return outlen;
}

/* The one leniency est_base64_decode is known to have (reported, enroll/est_msg.c): a last
 * quad "xy=z", pad then data, is taken as "xy=" plus a dropped byte. */
static bool known_leniency(const unsigned char *in, size_t len)
{
    unsigned char last[4];
    size_t n = 0;
    for (size_t i = len; i-- > 0 && n < 4;)
        if (!isspace(in[i]) && (in[i] || n))
            last[3 - n++] = in[i];
    return n == 4 && last[2] == '=' && last[3] != '=';
}

static void roundtrip(const unsigned char *bytes, size_t len)
{
    char *text = NULL;
    size_t tlen = 0;
    FUZZ_ASSERT(est_base64_encode(bytes, len, &text, &tlen) == DEVID_OK, "encode: %s",
                devid_last_error());
    FUZZ_ASSERT(strlen(text) == tlen, "encoded length");
    for (const char *line = text; *line;) {
        const char *crlf = strstr(line, "\r\n");
        FUZZ_ASSERT(crlf && crlf - line <= 64 && crlf > line, "encoded line layout");
        line = crlf + 2;
    }
    if (len == 0) { /* nothing to decode: the decoder refuses an empty body */
        free(text);
        return;
    }
    unsigned char *back = NULL;
    size_t blen = 0;
    FUZZ_ASSERT(est_base64_decode(text, tlen, &back, &blen) == DEVID_OK,
                "own encoding rejected: %s", devid_last_error());
    FUZZ_ASSERT(blen == len && memcmp(back, bytes, len) == 0, "encode/decode changed the data");
    free(back);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *ref = malloc(size ? size : 1);
    FUZZ_ASSERT(ref, "malloc");
    long rlen = reference(data, size, ref);

    unsigned char *out = NULL;
    size_t outlen = 0;
    devid_rc rc = est_base64_decode((const char *)data, size, &out, &outlen);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT, "rc %s", devid_rc_name(rc));
    if (rlen >= 0) {
        FUZZ_ASSERT(rc == DEVID_OK, "valid base64 rejected: %s", devid_last_error());
        FUZZ_ASSERT(outlen == (size_t)rlen && memcmp(out, ref, outlen) == 0,
                    "decoded bytes differ from the reference");
    } else {
        FUZZ_ASSERT(rc != DEVID_OK || known_leniency(data, size), "invalid base64 accepted");
    }
    if (rc == DEVID_OK) {
        roundtrip(out, outlen);
        free(out);
    }
    roundtrip(data, size);
    free(ref);

    /* NULs appended (a server's C string terminator) change nothing */
    unsigned char *padded = malloc(size + 3);
    FUZZ_ASSERT(padded, "malloc");
    memcpy(padded, data, size);
    memcpy(padded + size, "\0\n\0", 3);
    unsigned char *again = NULL;
    size_t alen = 0;
    devid_rc prc = est_base64_decode((const char *)padded, size + 3, &again, &alen);
    FUZZ_ASSERT(prc == rc, "trailing NULs changed the verdict");
    if (prc == DEVID_OK) {
        FUZZ_ASSERT(alen == outlen, "trailing NULs changed the length");
        free(again);
    }
    free(padded);
    return 0;
}
