/* SPDX-License-Identifier: Apache-2.0 */
/* dp_uri_parse (ossl-provider/uri.h): devid: URIs, the names OpenSSL applications give the
 * provider's store loader (RFC 7512 syntax: path attributes object, id, type, handle; query
 * attributes pin-value, pin-source).
 *
 * Properties: an accepted URI has a non-empty NUL-terminated object label of at most
 * DEVID_LABEL_MAX bytes (or none), id_len ≤ DEVID_ID_MAX and has_id exactly when an id was
 * given, a handle of 0 or 0x81xxxxxx, a type in range and a PIN of 1 to 256 bytes; written
 * back as a URI (every byte of object, id and PIN %-encoded, the PIN as pin-value) it parses
 * to the same. A refused URI leaves the result zeroed (nothing to free) and a message.
 * stdin is /dev/null, so pin-source=/dev/stdin cannot block the fuzzer. */
#include "fuzz.h"

#include "../../ossl-provider/uri.h"

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static size_t pct(char *out, const unsigned char *v, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += (size_t)sprintf(out + n, "%%%02X", v[i]);
    return n;
}

static char *encode(const dp_uri *u)
{
    size_t cap = 64 + 3 * (DEVID_LABEL_MAX + DEVID_ID_MAX + 256), n = 0;
    char *s = malloc(cap);
    FUZZ_ASSERT(s, "malloc");
    n += (size_t)sprintf(s, "devid:");
    if (u->object) {
        n += (size_t)sprintf(s + n, "object=");
        n += pct(s + n, (const unsigned char *)u->object, strlen(u->object));
        s[n++] = ';';
    }
    if (u->has_id) {
        n += (size_t)sprintf(s + n, "id=");
        n += pct(s + n, u->id, u->id_len);
        s[n++] = ';';
    }
    static const char *const type[] = { NULL, "private", "public", "cert" };
    if (u->type != DP_URI_ANY)
        n += (size_t)sprintf(s + n, "type=%s;", type[u->type]);
    if (u->handle)
        n += (size_t)sprintf(s + n, "handle=0x%08x;", u->handle);
    if (u->pin) {
        n += (size_t)sprintf(s + n, "?pin-value=");
        n += pct(s + n, (const unsigned char *)u->pin, u->pin_len);
    }
    s[n] = '\0';
    FUZZ_ASSERT(n < cap, "encoding overflow");
    return s;
}

static bool zeroed(const dp_uri *u)
{
    static const dp_uri zero;
    return memcmp(u, &zero, sizeof(zero)) == 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int fd = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    FUZZ_ASSERT(text, "malloc");
    memcpy(text, data, size);
    text[size] = '\0';
    dp_uri u;
    char err[256] = "";
    memset(&u, 0x5a, sizeof(u));
    if (!dp_uri_parse(text, &u, err, sizeof(err))) {
        FUZZ_ASSERT(zeroed(&u), "a refused URI left data behind");
        FUZZ_ASSERT(err[0], "refused without a message");
        free(text);
        return 0;
    }
    FUZZ_ASSERT(!u.object || (u.object[0] && strlen(u.object) <= DEVID_LABEL_MAX),
                "object label of %zu bytes", u.object ? strlen(u.object) : 0);
    FUZZ_ASSERT(u.has_id == (u.id_len > 0) && u.id_len <= DEVID_ID_MAX, "id_len %zu", u.id_len);
    FUZZ_ASSERT(u.handle == 0 || (u.handle >> 24) == 0x81, "handle 0x%08x", u.handle);
    FUZZ_ASSERT(u.type >= DP_URI_ANY && u.type <= DP_URI_CERT, "type %d", (int)u.type);
    FUZZ_ASSERT(u.pin || u.pin_len == 0, "pin_len without pin");
    FUZZ_ASSERT(!u.pin || u.pin_len > 0, "an empty PIN accepted");
    FUZZ_ASSERT(u.pin_len <= 256 && (!u.pin || u.pin[u.pin_len] == '\0'), "pin_len %zu", u.pin_len);

    /* A PIN read through pin-source may hold NUL bytes, which pin-value cannot carry. */
    if (u.pin && memchr(u.pin, '\0', u.pin_len)) {
        dp_uri_clear(&u);
        free(text);
        return 0;
    }
    char *again = encode(&u);
    dp_uri v;
    FUZZ_ASSERT(dp_uri_parse(again, &v, err, sizeof(err)), "re-encoded URI refused: %s: %s", again,
                err);
    FUZZ_ASSERT((!u.object && !v.object) || (u.object && v.object && !strcmp(u.object, v.object)),
                "object changed: %s", again);
    FUZZ_ASSERT(u.has_id == v.has_id && u.id_len == v.id_len && !memcmp(u.id, v.id, u.id_len),
                "id changed: %s", again);
    FUZZ_ASSERT(u.type == v.type && u.handle == v.handle, "type or handle changed: %s", again);
    FUZZ_ASSERT(u.pin_len == v.pin_len && (!u.pin || !memcmp(u.pin, v.pin, u.pin_len)),
                "PIN changed");
    dp_uri_clear(&v);
    dp_uri_clear(&u);
    free(again);
    free(text);
    return 0;
}
