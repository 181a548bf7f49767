/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll --json's writer (enroll/json.c): the escapes JSON requires, UTF-8 passed as it
 * is, and bytes that are not well-formed UTF-8 (which would make the document unparsable)
 * replaced by U+FFFD. */
#include "devid_test.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* The JSON text json_string gives for `value` (the caller frees it). */
static char *encoded(const char *value)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    json_writer w = { .out = f };
    json_string(&w, NULL, value);
    fclose(f);
    return buf;
}

static void expect(const char *value, const char *want)
{
    char *got = encoded(value);
    CHECK(got && strcmp(got, want) == 0, "'%s' encoded as '%s', expected '%s'", value,
          got ? got : "(null)", want);
    free(got);
}

static void test_escapes(void)
{
    expect("plain", "\"plain\"");
    expect("q\"b\\s/", "\"q\\\"b\\\\s/\"");
    expect("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    expect("\x01\x1f\x7f", "\"\\u0001\\u001f\x7f\"");
}

static void test_utf8(void)
{
    /* UTF-8 as it is: 2, 3 and 4 bytes */
    expect("Ger\xc3\xa4t \xe2\x82\xac \xf0\x9f\x94\x91",
           "\"Ger\xc3\xa4t \xe2\x82\xac \xf0\x9f\x94\x91\"");
    /* not UTF-8: a lone continuation byte, a truncated sequence, an overlong form, a
     * surrogate, above U+10FFFF, a Latin-1 byte */
    expect("a\x80z", "\"a\\ufffdz\"");
    expect("a\xc3", "\"a\\ufffd\"");
    expect("\xe2\x82", "\"\\ufffd\\ufffd\"");
    expect("\xc0\xaf", "\"\\ufffd\\ufffd\"");
    expect("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
    expect("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
    expect("caf\xe9", "\"caf\\ufffd\"");
    expect(NULL, "null");
}

static void test_document(void)
{
    /* a document: nesting and commas */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(f != NULL, "open_memstream");
    if (f) {
        json_writer w = { .out = f };
        json_begin_object(&w, NULL);
        json_string(&w, "k", "v");
        json_begin_array(&w, "a");
        json_int(&w, NULL, -3);
        json_bool(&w, NULL, true);
        json_end_array(&w);
        json_begin_object(&w, "empty");
        json_end_object(&w);
        json_end_object(&w);
        fclose(f);
        CHECK(strcmp(buf, "{\n  \"k\": \"v\",\n  \"a\": [\n    -3,\n    true\n  ],\n"
                          "  \"empty\": {}\n}\n") == 0,
              "document:\n%s", buf);
        free(buf);
    }
}

int main(int argc, char **argv)
{
    devid_test(test_escapes, "/json/escapes");
    devid_test(test_utf8, "/json/utf8");
    devid_test(test_document, "/json/document");
    return devid_test_run("enroll-json-writer", argc, argv);
}
