/* SPDX-License-Identifier: Apache-2.0 */
/* EST message handling without a network: base64 (RFC 8951 whitespace), certs-only PKCS#7,
 * PKCS#10 construction, Retry-After and back-off arithmetic. */
#include "devid_test.h"
#include "est_msg.h"
#include "evidence.h"
#include "http_headers.h"
#include "est_tls.h"
#include "renewal.h"
#include "retry.h"

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <string.h>

static X509 *self_signed(EVP_PKEY *key, const char *cn, const char *san)
{
    X509 *c = X509_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_NAME_add_entry_by_txt(n, "serialNumber", MBSTRING_ASC, (const unsigned char *)"SN-1", -1,
                               -1, 0);
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_set_subject_name(c, n);
    X509_set_issuer_name(c, n);
    X509_gmtime_adj(X509_getm_notBefore(c), 0);
    X509_gmtime_adj(X509_getm_notAfter(c), 3600);
    X509_set_pubkey(c, key);
    if (san) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, c, c, NULL, NULL, 0);
        X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(c, key, EVP_sha256());
    X509_NAME_free(n);
    return c;
}

static char *certs_only_b64(X509 **certs, int n, size_t *len)
{
    PKCS7 *p7 = PKCS7_new();
    PKCS7_set_type(p7, NID_pkcs7_signed);
    PKCS7_content_new(p7, NID_pkcs7_data);
    for (int i = 0; i < n; i++)
        PKCS7_add_certificate(p7, certs[i]);
    unsigned char *der = NULL;
    int derlen = i2d_PKCS7(p7, &der);
    char *b64 = NULL;
    est_base64_encode(der, (size_t)derlen, &b64, len);
    OPENSSL_free(der);
    PKCS7_free(p7);
    return b64;
}

static void test_base64(void)
{
    unsigned char *out = NULL;
    size_t n = 0;
    CHECK_RC(est_base64_decode("aGVs\r\nbG8=\n", 11, &out, &n), DEVID_OK);
    CHECK(n == 5 && memcmp(out, "hello", 5) == 0, "whitespace ignored");
    free(out);
    CHECK_RC(est_base64_decode(" a G V s b G 8 h\t", 17, &out, &n), DEVID_OK);
    CHECK(n == 6 && memcmp(out, "hello!", 6) == 0, "spaces everywhere");
    free(out);
    CHECK_RC(est_base64_decode("aGVsbG8", 7, &out, &n), DEVID_ERR_FORMAT);
    CHECK_RC(est_base64_decode("aGV*bG8=", 8, &out, &n), DEVID_ERR_FORMAT);
    CHECK_RC(est_base64_decode("aG=sbG8=", 8, &out, &n), DEVID_ERR_FORMAT);
    CHECK_RC(est_base64_decode("QU=D", 4, &out, &n), DEVID_ERR_FORMAT);
    CHECK_RC(est_base64_decode("QQ==", 4, &out, &n), DEVID_OK);
    CHECK(n == 1 && out[0] == 'A', "two padding characters");
    free(out);
    CHECK_RC(est_base64_decode("", 0, &out, &n), DEVID_ERR_FORMAT);
    CHECK_RC(est_base64_decode("\r\n", 2, &out, &n), DEVID_ERR_FORMAT);
    /* trailing NULs (a widely deployed server's /csrattrs ends in one), mixed with white space */
    CHECK_RC(est_base64_decode("aGVsbG8=\0", 9, &out, &n), DEVID_OK);
    CHECK(n == 5 && memcmp(out, "hello", 5) == 0, "a trailing NUL");
    free(out);
    CHECK_RC(est_base64_decode("aGVs\vbG8=\r\n\0\n\0\0\f", 15, &out, &n), DEVID_OK);
    CHECK(n == 5 && memcmp(out, "hello", 5) == 0, "NULs and any white space at the end");
    free(out);
    CHECK_RC(est_base64_decode("aGVs\0bG8=", 9, &out, &n), DEVID_ERR_FORMAT); /* not inside */
    CHECK_RC(est_base64_decode("\0\0", 2, &out, &n), DEVID_ERR_FORMAT);

    unsigned char data[200];
    for (int i = 0; i < 200; i++)
        data[i] = (unsigned char)i;
    char *b64 = NULL;
    size_t blen = 0;
    CHECK_RC(est_base64_encode(data, sizeof(data), &b64, &blen), DEVID_OK);
    CHECK(b64 && strlen(b64) == blen && b64[64] == '\r' && b64[65] == '\n', "64 columns, CRLF");
    CHECK_RC(est_base64_decode(b64, blen, &out, &n), DEVID_OK);
    CHECK(n == 200 && memcmp(out, data, 200) == 0, "round trip");
    free(out);
    free(b64);
}

static void test_pkcs7(void)
{
    EVP_PKEY *k1 = EVP_EC_gen("P-256"), *k2 = EVP_EC_gen("P-256");
    X509 *certs[2] = { self_signed(k1, "one", NULL), self_signed(k2, "two", NULL) };
    size_t len = 0;
    char *b64 = certs_only_b64(certs, 2, &len);
    STACK_OF(X509) *got = NULL;
    CHECK_RC(est_parse_certs_only(b64, len, &got), DEVID_OK);
    CHECK(got && sk_X509_num(got) == 2, "two certificates");
    CHECK(got && est_find_cert_for_key(got, k2) == sk_X509_value(got, 1), "finds the key's cert");
    EVP_PKEY *k3 = EVP_EC_gen("P-256");
    CHECK(got && est_find_cert_for_key(got, k3) == NULL, "no cert for another key");
    sk_X509_pop_free(got, X509_free);
    got = NULL;
    b64[len / 2] = '!';
    CHECK_RC(est_parse_certs_only(b64, len, &got), DEVID_ERR_FORMAT);
    free(b64);
    b64 = certs_only_b64(certs, 0, &len);
    CHECK_RC(est_parse_certs_only(b64, len, &got), DEVID_ERR_FORMAT);
    free(b64);
    /* a certificate where a PKCS#7 belongs */
    unsigned char *der = NULL;
    int derlen = i2d_X509(certs[0], &der);
    est_base64_encode(der, (size_t)derlen, &b64, &len);
    CHECK_RC(est_parse_certs_only(b64, len, &got), DEVID_ERR_FORMAT);
    free(b64);
    OPENSSL_free(der);
    X509_free(certs[0]);
    X509_free(certs[1]);
    EVP_PKEY_free(k1);
    EVP_PKEY_free(k2);
    EVP_PKEY_free(k3);
}

static void test_csr(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *old = self_signed(key, "device-7", "DNS:device-7.example,IP:10.0.0.7");
    EVP_PKEY *newkey = EVP_EC_gen("P-256");
    unsigned char *der = NULL;
    size_t len = 0;
    CHECK_RC(est_build_csr(newkey, NULL, old, NID_sha384, NULL, NULL, 0, &der, &len), DEVID_OK);
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    CHECK(req && X509_REQ_verify(req, newkey) == 1, "CSR signed by its key");
    const X509_ALGOR *alg = NULL;
    if (req)
        X509_REQ_get0_signature(req, NULL, &alg);
    CHECK(alg && OBJ_obj2nid(alg->algorithm) == NID_ecdsa_with_SHA384, "signed with SHA-384");
    CHECK(req && X509_NAME_cmp(X509_REQ_get_subject_name(req), X509_get_subject_name(old)) == 0,
          "subject kept on renewal");
    STACK_OF(X509_EXTENSION) *exts = req ? X509_REQ_get_extensions(req) : NULL;
    bool san = false;
    for (int i = 0; i < sk_X509_EXTENSION_num(exts); i++)
        san |= OBJ_obj2nid(X509_EXTENSION_get_object(sk_X509_EXTENSION_value(exts, i))) ==
               NID_subject_alt_name;
    CHECK(san, "subjectAltName kept on renewal");
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
    OPENSSL_free(der);
    CHECK_RC(est_build_csr(newkey, NULL, NULL, NID_undef, NULL, NULL, 0, &der, &len),
             DEVID_ERR_ARG);

    /* proof-of-possession: the challengePassword attribute carries the given text */
    const char *binding = "q83vEjRWeJCrze8S";
    der = NULL;
    CHECK_RC(est_build_csr(newkey, NULL, old, NID_undef, binding, NULL, 0, &der, &len), DEVID_OK);
    p = der;
    req = d2i_X509_REQ(NULL, &p, (long)len);
    int at = req ? X509_REQ_get_attr_by_NID(req, NID_pkcs9_challengePassword, -1) : -1;
    ASN1_TYPE *v = at >= 0 ? X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(req, at), 0) : NULL;
    CHECK(v && v->type == V_ASN1_PRINTABLESTRING &&
              ASN1_STRING_length(v->value.printablestring) == (int)strlen(binding) &&
              memcmp(ASN1_STRING_get0_data(v->value.printablestring), binding, strlen(binding)) ==
                  0,
          "challengePassword: the binding, as a PrintableString");
    CHECK(req && X509_REQ_verify(req, newkey) == 1, "PoP CSR signed by its key");
    X509_REQ_free(req);
    OPENSSL_free(der);

    /* a re-enroll (the key `old` certifies): the certificate's SubjectPublicKeyInfo, as it is,
     * for EC and RSA (the CSR is built without encoding the key again) */
    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    X509 *rsa_cert = self_signed(rsa, "device-8", "DNS:device-8.example");
    const struct {
        EVP_PKEY *key;
        X509 *cert;
    } same[] = { { key, old }, { rsa, rsa_cert } };
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        der = NULL;
        CHECK_RC(est_build_csr(same[i].key, NULL, same[i].cert, NID_undef, binding, NULL, 0, &der,
                               &len),
                 DEVID_OK);
        p = der;
        req = d2i_X509_REQ(NULL, &p, (long)len);
        unsigned char *want = NULL, *got = NULL;
        int want_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(same[i].cert), &want);
        int got_len = req ? i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &got) : -1;
        CHECK(want_len > 0 && got_len == want_len && memcmp(want, got, (size_t)want_len) == 0,
              "re-enroll CSR: the certificate's SubjectPublicKeyInfo");
        CHECK(req && X509_REQ_verify(req, same[i].key) == 1, "re-enroll CSR signed by its key");
        CHECK(req && EVP_PKEY_eq(X509_REQ_get0_pubkey(req), same[i].key) == 1,
              "re-enroll CSR: its public key is the key's");
        OPENSSL_free(want);
        OPENSSL_free(got);
        X509_REQ_free(req);
        OPENSSL_free(der);
    }

    /* a new key: its SubjectPublicKeyInfo as OpenSSL encodes it (EC: built from the curve and
     * the point in the key's own form, compressed too; RSA: OpenSSL's encoder) */
    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    EVP_PKEY *packed = EVP_EC_gen("P-256");
    CHECK(EVP_PKEY_set_utf8_string_param(packed, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                         "compressed") == 1,
          "a key holding its point compressed");
    EVP_PKEY *fresh[] = { newkey, p384, packed, rsa };
    for (size_t i = 0; i < sizeof(fresh) / sizeof(fresh[0]); i++) {
        der = NULL;
        CHECK_RC(est_build_csr(fresh[i], NULL, old, NID_undef, NULL, NULL, 0, &der, &len),
                 DEVID_OK);
        p = der;
        req = d2i_X509_REQ(NULL, &p, (long)len);
        unsigned char *want = NULL, *got = NULL;
        int want_len = i2d_PUBKEY(fresh[i], &want);
        int got_len = req ? i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &got) : -1;
        CHECK(want_len > 0 && got_len == want_len && memcmp(want, got, (size_t)want_len) == 0,
              "new key's CSR: the SubjectPublicKeyInfo OpenSSL encodes");
        CHECK(req && X509_REQ_verify(req, fresh[i]) == 1, "new key's CSR signed by its key");
        OPENSSL_free(want);
        OPENSSL_free(got);
        X509_REQ_free(req);
        OPENSSL_free(der);
    }
    EVP_PKEY_free(p384);
    EVP_PKEY_free(packed);
    X509_free(rsa_cert);
    EVP_PKEY_free(rsa);
    X509_free(old);
    EVP_PKEY_free(key);
    EVP_PKEY_free(newkey);
}

static void test_retry_math(void)
{
    est_retry_policy p = { .base_ms = 1000, .cap_ms = 8000 };
    est_retry_defaults(&p);
    CHECK(p.max_attempts == 8 && p.base_ms == 1000 && p.cap_ms == 8000, "defaults fill gaps");
    CHECK(est_backoff_ms(&p, 1, 0.0) == 500 && est_backoff_ms(&p, 1, 0.999) < 1000, "first");
    CHECK(est_backoff_ms(&p, 2, 0.0) == 1000, "doubles");
    CHECK(est_backoff_ms(&p, 4, 0.0) == 4000 && est_backoff_ms(&p, 4, 0.999) < 8000, "capped");
    CHECK(est_backoff_ms(&p, 60, 0.5) == 6000, "stays capped, no overflow");

    CHECK(est_parse_retry_after("120", 0) == 120, "delta-seconds");
    CHECK(est_parse_retry_after("0", 0) == 0, "zero");
    long when = (long)curl_getdate("Wed, 21 Oct 2015 07:28:00 GMT", NULL);
    CHECK(est_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when - 60) == 60, "HTTP-date");
    CHECK(est_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", when + 60) == 0, "in the past");
    CHECK(est_parse_retry_after("soon", 0) == -1, "garbage");
    CHECK(est_parse_retry_after("", 0) == -1, "empty");
    CHECK(est_parse_retry_after("99999999999", 0) == -1, "absurd");
    CHECK(est_parse_retry_after("-5", 0) == -1, "negative");
}

static void test_renewal_due(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *c = self_signed(key, "due", NULL);
    time_t from = time(NULL) - 10 * 86400;
    ASN1_TIME_set(X509_getm_notBefore(c), from);
    ASN1_TIME_set(X509_getm_notAfter(c), from + 100 * 86400);
    CHECK(renewal_due(c, 80, 10, 0.0) == from + 80 * 86400, "80%% of the lifetime");
    CHECK(renewal_due(c, 80, 10, 0.5) == from + 85 * 86400, "plus half the jitter");
    CHECK(renewal_due(c, 99, 50, 0.9) == from + 100 * 86400, "never after notAfter");
    ASN1_TIME_set(X509_getm_notAfter(c), from - 1);
    CHECK(renewal_due(c, 80, 10, 0.0) == (time_t)-1, "inverted validity");
    X509_free(c);
    EVP_PKEY_free(key);
}

static void test_csrattrs(const void *data)
{
    const char *path = data;
    FILE *f = path ? fopen(path, "rb") : NULL;
    unsigned char der[512];
    size_t n = f ? fread(der, 1, sizeof(der), f) : 0;
    if (f)
        fclose(f);
    CHECK(n > 0, "read %s", path ? path : "(no path)");
    est_csr_wishes w;
    CHECK_RC(est_parse_csrattrs(der, n, &w), DEVID_OK);
    CHECK(w.md_nid == NID_sha384, "ecdsa-with-SHA384 asks for SHA-384");
    CHECK(w.key_type == EVP_PKEY_RSA && w.rsa_bits == 3072, "the last key wish: RSA 3072");
    CHECK(w.challenge_password, "challengePassword noticed");
    static const unsigned char empty[] = { 0x30, 0x00 }, junk[] = { 0x04, 0x01, 0x00 };
    CHECK_RC(est_parse_csrattrs(empty, sizeof(empty), &w), DEVID_OK);
    CHECK(w.key_type == 0 && w.md_nid == NID_undef && !w.challenge_password, "no wishes");
    CHECK_RC(est_parse_csrattrs(junk, sizeof(junk), &w), DEVID_ERR_FORMAT);
    CHECK_RC(est_parse_csrattrs(der, n - 1, &w), DEVID_ERR_FORMAT);
}

/* Which fatal alerts mean "the server refused our client certificate" (exit 4, not
 * retried) rather than trouble that may pass (exit 5). */
static void test_alerts(void)
{
    const int refusing[] = { SSL_AD_CERTIFICATE_EXPIRED,  SSL_AD_BAD_CERTIFICATE,
                             SSL_AD_UNKNOWN_CA,           SSL_AD_CERTIFICATE_REVOKED,
                             SSL_AD_CERTIFICATE_REQUIRED, SSL_AD_ACCESS_DENIED };
    for (size_t i = 0; i < sizeof(refusing) / sizeof(refusing[0]); i++)
        CHECK(est_tls_alert_refuses_cert(refusing[i]), "alert refuses the certificate");
    const int other[] = { -1, SSL_AD_HANDSHAKE_FAILURE, SSL_AD_PROTOCOL_VERSION,
                          SSL_AD_INTERNAL_ERROR, SSL_AD_DECODE_ERROR };
    for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
        CHECK(!est_tls_alert_refuses_cert(other[i]), "alert says nothing about our certificate");
    CHECK(strcmp(est_tls_alert_text(SSL_AD_CERTIFICATE_EXPIRED), "certificate expired") == 0,
          "alert text");
    CHECK(strcmp(est_outcome_name(EST_REFUSED), "refused") == 0, "outcome name");
}

/* WWW-Authenticate: the schemes of every challenge, not their parameters. */
static void test_auth_schemes(void)
{
    static const struct {
        const char *value;
        unsigned want;
    } cases[] = {
        { "Basic realm=\"est\"", EST_SCHEME_BASIC },
        { "Digest realm=\"est\", qop=\"auth\", algorithm=SHA-256, nonce=\"1.a\"",
          EST_SCHEME_DIGEST },
        { "Digest realm=\"a, Basic b\", nonce=x, Basic realm=\"y\"",
          EST_SCHEME_DIGEST | EST_SCHEME_BASIC },
        { "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
          EST_SCHEME_OTHER | EST_SCHEME_BASIC },
        { "Negotiate abc123==", EST_SCHEME_OTHER },
        { "basic REALM=x", EST_SCHEME_BASIC },
        { "", 0 },
        { "realm=\"only params\"", 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned got = est_parse_auth_schemes(cases[i].value, strlen(cases[i].value));
        CHECK(got == cases[i].want, "'%s': 0x%x, want 0x%x", cases[i].value, got, cases[i].want);
    }
    est_headers h = { 0 };
    const char l1[] = "WWW-Authenticate: Basic realm=\"x\"\r\n";
    const char l2[] = "www-authenticate: Digest nonce=\"n\"\r\n";
    est_parse_header_line(l1, sizeof(l1) - 1, &h);
    est_parse_header_line(l2, sizeof(l2) - 1, &h);
    CHECK(h.auth_offered == (EST_SCHEME_BASIC | EST_SCHEME_DIGEST), "two header lines add up");
}

/* The evidence attribute (evidence.h) in a CSR: its value decodes to what went in, and the
 * qualifying data is SHA-256 over the request's own DER SubjectPublicKeyInfo and subject. */
static void test_csr_evidence(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256"), *iak_key = EVP_EC_gen("P-256");
    X509 *iak = self_signed(iak_key, "IAK", NULL), *ca = self_signed(iak_key, "CA", NULL);
    STACK_OF(X509) *chain = sk_X509_new_null();
    sk_X509_push(chain, ca);
    unsigned char attest[] = { 0xff, 0x54, 0x43, 0x47, 0x80, 0x17 }, sig[] = { 0, 0x18, 1 },
                  pub[] = { 0, 0x23, 0, 0x0b };
    evidence_tpm_certify c = { attest, sizeof(attest), sig, sizeof(sig), pub, sizeof(pub) };
    unsigned char *ev = NULL, *der = NULL;
    size_t ev_len = 0, len = 0;
    CHECK_RC(evidence_encode(&c, iak, chain, &ev, &ev_len), DEVID_OK);
    X509_NAME *subject = X509_NAME_new();
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, (const unsigned char *)"svc", -1, -1,
                               0);
    CHECK_RC(est_build_csr(key, subject, NULL, NID_undef, NULL, ev, ev_len, &der, &len), DEVID_OK);
    const unsigned char *p = der;
    X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
    CHECK(req && X509_REQ_verify(req, key) == 1, "attested CSR signed by its key");
    ASN1_OBJECT *oid = OBJ_txt2obj(EVIDENCE_ATTRIBUTE_OID, 1);
    int at = req ? X509_REQ_get_attr_by_OBJ(req, oid, -1) : -1;
    ASN1_TYPE *v = at >= 0 ? X509_ATTRIBUTE_get0_type(X509_REQ_get_attr(req, at), 0) : NULL;
    CHECK(v && v->type == V_ASN1_SEQUENCE && ASN1_STRING_length(v->value.sequence) == (int)ev_len &&
              memcmp(ASN1_STRING_get0_data(v->value.sequence), ev, ev_len) == 0,
          "id-aa-evidence attribute: the encoded EvidenceBundles");
    evidence_tpm_certify got;
    STACK_OF(X509) *certs = NULL;
    CHECK_RC(v ? evidence_decode(ASN1_STRING_get0_data(v->value.sequence),
                                 (size_t)ASN1_STRING_length(v->value.sequence), &got, &certs)
               : DEVID_ERR_FORMAT,
             DEVID_OK);
    CHECK(got.attest_len == sizeof(attest) && memcmp(got.attest, attest, sizeof(attest)) == 0 &&
              got.signature_len == sizeof(sig) && got.public_len == sizeof(pub) &&
              sk_X509_num(certs) == 2 && X509_cmp(sk_X509_value(certs, 0), iak) == 0 &&
              X509_cmp(sk_X509_value(certs, 1), ca) == 0,
          "evidence decodes to what went in, IAK certificate first");
    /* qualifying data: SHA-256(DER SPKI || DER subject) of the request as sent */
    unsigned char q[EVIDENCE_QUALIFYING_LEN], want[32], buf[1024];
    unsigned char *w = buf;
    int n1 = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &w);
    int n2 = i2d_X509_NAME(X509_REQ_get_subject_name(req), &w);
    CHECK(n1 > 0 && n2 > 0 && SHA256(buf, (size_t)(n1 + n2), want) != NULL, "hash by hand");
    CHECK_RC(evidence_qualifying_data(key, subject, q), DEVID_OK);
    CHECK(memcmp(q, want, sizeof(q)) == 0, "qualifying data = SHA-256(SPKI || subject)");
    evidence_tpm_certify_clear(&got);
    sk_X509_pop_free(certs, X509_free);
    CHECK_RC(evidence_decode(ev, ev_len - 1, &got, &certs), DEVID_ERR_FORMAT);
    CHECK(!certs && !got.attest, "a truncated value is refused, nothing returned");
    ASN1_OBJECT_free(oid);
    X509_REQ_free(req);
    OPENSSL_free(der);
    OPENSSL_free(ev);
    X509_NAME_free(subject);
    sk_X509_pop_free(chain, X509_free);
    X509_free(iak);
    EVP_PKEY_free(key);
    EVP_PKEY_free(iak_key);
}

int main(int argc, char **argv)
{
    devid_test(test_auth_schemes, "/est-msg/auth-schemes");
    devid_testx(test_csrattrs, devid_test_arg(argc, argv, 0), "/est-msg/csrattrs");
    devid_test(test_renewal_due, "/est-msg/renewal-due");
    devid_test(test_base64, "/est-msg/base64");
    devid_test(test_pkcs7, "/est-msg/pkcs7");
    devid_test(test_csr, "/est-msg/csr");
    devid_test(test_csr_evidence, "/est-msg/csr-evidence");
    devid_test(test_retry_math, "/est-msg/retry-math");
    devid_test(test_alerts, "/est-msg/alerts");
    return devid_test_run("test_est_msg", argc, argv);
}
