/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll --subject: RFC 4514 escapes, multi-valued RDNs, UTF-8 in and out, and every
 * malformed form refused with a message (enroll/subject.c). */
#include "devid_test.h"
#include "subject.h"

#include <string.h>

static X509_NAME *parse(const char *text)
{
    X509_NAME *n = NULL;
    devid_rc rc = enroll_subject_parse(text, &n);
    CHECK(rc == DEVID_OK && n, "'%s' refused: %s", text, devid_last_error());
    return n;
}

/* The value of entry i as a C string ("" if none). */
static const char *value(X509_NAME *n, int i, char *buf, size_t len)
{
    buf[0] = '\0';
    X509_NAME_ENTRY *e = n ? X509_NAME_get_entry(n, i) : NULL;
    if (e) {
        const ASN1_STRING *s = X509_NAME_ENTRY_get_data(e);
        snprintf(buf, len, "%.*s", ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
    }
    return buf;
}

static int nid(X509_NAME *n, int i)
{
    X509_NAME_ENTRY *e = n ? X509_NAME_get_entry(n, i) : NULL;
    return e ? OBJ_obj2nid(X509_NAME_ENTRY_get_object(e)) : NID_undef;
}

static void expect_one(const char *text, int want_nid, const char *want)
{
    char buf[256];
    X509_NAME *n = parse(text);
    CHECK(n && X509_NAME_entry_count(n) == 1, "'%s': one entry", text);
    CHECK(nid(n, 0) == want_nid, "'%s': attribute", text);
    CHECK(strcmp(value(n, 0, buf, sizeof(buf)), want) == 0, "'%s' gave '%s', not '%s'", text, buf,
          want);
    X509_NAME_free(n);
}

static void expect_refused(const char *text, const char *why)
{
    X509_NAME *n = NULL;
    devid_rc rc = enroll_subject_parse(text, &n);
    CHECK(rc == DEVID_ERR_ARG && !n, "'%s' accepted", text);
    CHECK(strstr(devid_last_error(), why) != NULL, "'%s': message '%s' lacks '%s'", text,
          devid_last_error(), why);
    X509_NAME_free(n);
}

static void test_order(void)
{
    char buf[256];
    /* RDNs in the order written; an escaped comma stays in its value */
    X509_NAME *n = parse("O=Maker\\, Inc,OU=Model X200,CN=X200,serialNumber=SN-7");
    CHECK(X509_NAME_entry_count(n) == 4, "four entries");
    CHECK(nid(n, 0) == NID_organizationName && nid(n, 3) == NID_serialNumber, "order as written");
    CHECK(strcmp(value(n, 0, buf, sizeof(buf)), "Maker, Inc") == 0, "O='%s'", buf);
    X509_NAME_free(n);
}

static void test_multi_valued(void)
{
    /* '+': a multi-valued RDN */
    X509_NAME *n = parse("O=Maker,CN=X200+serialNumber=7");
    CHECK(X509_NAME_entry_count(n) == 3, "three entries");
    CHECK(n &&
              X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)) ==
                  X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 2)) &&
              X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 0)) !=
                  X509_NAME_ENTRY_set(X509_NAME_get_entry(n, 1)),
          "CN and serialNumber share an RDN, O has its own");
    X509_NAME_free(n);
}

static void test_escapes(void)
{
    /* every special character escaped, hex pairs, spaces */
    expect_one("CN=a\\+b\\;c\\\"d\\<e\\>f\\\\g\\=h\\#i\\,j", NID_commonName,
               "a+b;c\"d<e>f\\g=h#i,j");
    expect_one("CN=\\#1", NID_commonName, "#1");
    expect_one("CN=caf\\C3\\A9", NID_commonName, "caf\xc3\xa9");
    expect_one("CN=  spaced out  ", NID_commonName, "spaced out");
    expect_one("CN=\\ kept\\ ", NID_commonName, " kept ");
    expect_one(" commonName = long name ", NID_commonName, "long name");
    expect_one("2.5.4.3=by OID", NID_commonName, "by OID");
}

static void test_slash_form(void)
{
    char buf[256];
    /* the slash form of openssl req -subj */
    X509_NAME *n = parse("/O=Maker/CN=a\\/b");
    CHECK(X509_NAME_entry_count(n) == 2 && strcmp(value(n, 1, buf, sizeof(buf)), "a/b") == 0,
          "slash form: '%s'", buf);
    X509_NAME_free(n);
}

static void test_utf8(void)
{
    /* UTF-8 in, UTF-8 out (not \C3\A9) */
    X509_NAME *n = parse("O=Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale\\, SA,CN=Ger\xc3\xa4t");
    char text[512];
    enroll_subject_to_string(n, text, sizeof(text));
    CHECK(strstr(text, "CN=Ger\xc3\xa4t") &&
              strstr(text, "O=Soci\xc3\xa9t\xc3\xa9 G\xc3\xa9n\xc3\xa9rale\\, SA"),
          "printed as '%s'", text);
    CHECK(n && ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, 1))) ==
                   V_ASN1_UTF8STRING,
          "non-ASCII encoded as UTF8String");
    X509_NAME_free(n);
}

static void test_refused(void)
{
    expect_refused("", "empty");
    expect_refused("CN", "not TYPE=value");
    expect_refused("=x", "not TYPE=value");
    expect_refused("CN=", "no value");
    expect_refused("CN=   ", "no value");
    expect_refused("CN=#04024869", "hex-encoded");
    expect_refused("CN=a\\zb", "bad escape");
    expect_refused("CN=a\\", "bad escape");
    expect_refused("CN=a\\00b", "NUL");
    expect_refused("XX=y", "unknown attribute type 'XX'");
    expect_refused("C=USA", "value refused");
    expect_refused("CN=\\C3", "value refused");
    expect_refused("CN=\xff\xfe", "value refused");
    expect_refused("CN=a,", "ends with ','");
    expect_refused("CN=a+", "ends with '+'");
    expect_refused("CN=a;b", "must be escaped");
    expect_refused("CN=a<b", "must be escaped");
    char big[5000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "CN=", 3);
    expect_refused(big, "longer than");
}

int main(int argc, char **argv)
{
    devid_test(test_order, "/subject/order");
    devid_test(test_multi_valued, "/subject/multi-valued");
    devid_test(test_escapes, "/subject/escapes");
    devid_test(test_slash_form, "/subject/slash-form");
    devid_test(test_utf8, "/subject/utf8");
    devid_test(test_refused, "/subject/refused");
    return devid_test_run("enroll-subject", argc, argv);
}
