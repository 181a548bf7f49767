/* SPDX-License-Identifier: Apache-2.0 */
/* devid: URI parsing (ossl-provider/uri.c): RFC 7512 syntax, percent-decoding, every
 * attribute, and errors for malformed input; then a few thousand random mutations of valid
 * URIs, which must parse or fail cleanly (run under ASan/UBSan in the sanitizer build). */
#include "devid_test.h"
#include "uri.h"

#include <string.h>
#include <unistd.h>

static bool parses(const char *s, dp_uri *u)
{
    char err[256] = "";
    bool ok = dp_uri_parse(s, u, err, sizeof(err));
    if (!ok && !err[0])
        fprintf(stderr, "no message for %s\n", s);
    return ok;
}

static void good(void)
{
    dp_uri u;
    CHECK(parses("devid:object=IDevID", &u) && !strcmp(u.object, "IDevID") &&
              u.type == DP_URI_ANY && !u.handle && !u.has_id && !u.pin,
          "object");
    dp_uri_clear(&u);
    CHECK(parses("devid:object=IDevID;type=cert", &u) && u.type == DP_URI_CERT, "type=cert");
    dp_uri_clear(&u);
    CHECK(parses("DEVID:type=private;object=my%20key%3b", &u) && !strcmp(u.object, "my key;") &&
              u.type == DP_URI_PRIVATE,
          "percent-decoding, scheme case");
    dp_uri_clear(&u);
    CHECK(parses("devid:handle=0x81020000", &u) && u.handle == 0x81020000u, "handle");
    dp_uri_clear(&u);
    CHECK(parses("devid:handle=81000010;type=public", &u) && u.handle == 0x81000010u &&
              u.type == DP_URI_PUBLIC,
          "handle without 0x");
    dp_uri_clear(&u);
    CHECK(parses("devid:id=%01%02%ff", &u) && u.has_id && u.id_len == 3 && u.id[2] == 0xff, "id");
    dp_uri_clear(&u);
    CHECK(parses("devid:id=AB", &u) && u.id_len == 2 && u.id[0] == 'A', "id: plain characters");
    dp_uri_clear(&u);
    CHECK(parses("devid:token=DevID;manufacturer=x;object=a?pin-value=12%2634&module-path=/x",
                 &u) &&
              !strcmp(u.object, "a") && u.pin_len == 5 && !memcmp(u.pin, "12&34", 5),
          "ignored attributes, pin-value");
    dp_uri_clear(&u);
    CHECK(parses("devid:", &u) && !u.object, "empty URI: everything");
    dp_uri_clear(&u);
    CHECK(parses("devid:object=a;;?", &u), "empty components");
    dp_uri_clear(&u);

    char path[] = "/tmp/devid-uri-pinXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, "s3cret\n", 7) == 7, "pin file");
    close(fd);
    char uri[128];
    snprintf(uri, sizeof(uri), "devid:object=a?pin-source=file:%s", path);
    CHECK(parses(uri, &u) && u.pin_len == 6 && !memcmp(u.pin, "s3cret", 6), "pin-source");
    dp_uri_clear(&u);
    snprintf(uri, sizeof(uri), "devid:object=a?pin-source=%s", path);
    CHECK(parses(uri, &u) && u.pin_len == 6, "pin-source without file:");
    dp_uri_clear(&u);
    snprintf(uri, sizeof(uri), "devid:object=a?pin-source=file://%s", path);
    CHECK(parses(uri, &u) && u.pin_len == 6 && !memcmp(u.pin, "s3cret", 6),
          "pin-source=file:///path");
    dp_uri_clear(&u);
    CHECK(!u.pin && !u.pin_len, "cleared: no PIN left");
    snprintf(uri, sizeof(uri), "devid:object=a?pin-source=file:%s;type=private", path);
    CHECK(!parses(uri, &u), "pin-source: the value is the whole file name");
    dp_uri_clear(&u);
    unlink(path);
}

static void bad(void)
{
    static const char *const cases[] = {
        "pkcs11:object=a",
        "devid",
        "devid:object",
        "devid:=x",
        "devid:object=",
        "devid:object=a;object=b",
        "devid:foo=bar",
        "devid:type=secret-key",
        "devid:type=",
        "devid:handle=0x01c90000",
        "devid:handle=zz",
        "devid:handle=0x8100000000",
        "devid:handle=",
        "devid:id=%zz",
        "devid:id=%4",
        "devid:id=%",
        "devid:id=",
        "devid:object=%00x",
        "devid:object=a b",
        "devid:object=\xc3\xa9",
        "devid:object=a?pin=1",
        "devid:object=a?pin-value=1&pin-value=2",
        "devid:object=a?pin-value=1&pin-source=/x",
        "devid:object=a?pin-source=/nonexistent/pin",
        "devid:object=a?x=1?y=2",
        "devid:object=a?pin-source=env:PIN",
        "devid:object=a?pin-source=relative/pin",
        "devid:object=a?pin-source=file:relative",
        "devid:object=a?pin-source=%7Cecho%201234",
        "devid:object=a?pin-source=",
        "devid:object=a?pin-value=",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dp_uri u;
        char err[256] = "";
        bool ok = dp_uri_parse(cases[i], &u, err, sizeof(err));
        CHECK(!ok && err[0], "%s: parsed=%d err=\"%s\"", cases[i], ok, err);
        if (ok)
            dp_uri_clear(&u);
    }
    char long_label[400] = "devid:object=";
    memset(long_label + 13, 'a', 300);
    dp_uri u;
    char err[256];
    CHECK(!dp_uri_parse(long_label, &u, err, sizeof(err)), "label longer than DEVID_LABEL_MAX");
    char long_id[400] = "devid:id=";
    for (int i = 0; i < 65; i++)
        strcat(long_id, "%01");
    CHECK(!dp_uri_parse(long_id, &u, err, sizeof(err)), "id longer than DEVID_ID_MAX");
}

static void mutations(void)
{
    static const char *const seeds[] = {
        "devid:object=IDevID;type=cert",
        "devid:handle=0x81000010?pin-value=a%20b",
        "devid:id=%01%02%03;type=private;token=DevID",
        "devid:object=x%41?module-name=y",
    };
    unsigned seed = 12345;
    int done = 0;
    for (int round = 0; round < 5000; round++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", seeds[round % 4]);
        size_t len = strlen(buf);
        for (int m = 0; m < 3; m++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % (len + 1);
            char c = "=;?&%0aZ\x01\xff:/"[(seed >> 20) % 12];
            if (pos < len)
                buf[pos] = c;
        }
        dp_uri u;
        char err[256];
        if (dp_uri_parse(buf, &u, err, sizeof(err)))
            dp_uri_clear(&u);
        done++;
    }
    CHECK(done == 5000, "mutations");
}

int main(int argc, char **argv)
{
    devid_test(good, "/uri/good");
    devid_test(bad, "/uri/bad");
    devid_test(mutations, "/uri/mutations");
    return devid_test_run("test_uri", argc, argv);
}
