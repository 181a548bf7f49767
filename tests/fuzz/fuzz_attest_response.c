/* SPDX-License-Identifier: Apache-2.0 */
/* The attested factory exchange's answer (enroll/attest_msg.h), as devid-enroll gets it from
 * the network: attest_response_parse on the input, and attest_certs_parse on the input too
 * (the opened AttestedCertificates). A parsed answer is also opened with the fixed key below
 * (32 zero bytes) and nonce "devid-fuzz-nonce", so seeds sealed with them reach the
 * certificates' parser through AES-256-GCM.
 *
 * Properties: an accepted answer has an IV of 12 bytes, sealed certificates of at least the
 * tag's 16 bytes, and non-empty credential parts of the lengths it says; a refusal is
 * DEVID_ERR_FORMAT (or MEMORY). Opening yields DEVID_OK, AUTH (tag) or FORMAT only. Accepted
 * AttestedCertificates hold two certificates and a chain, and the same certificates
 * re-encoded into a fresh SEQUENCE parse to the same DER. */
#include "fuzz.h"

#include "attest_msg.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <string.h>

static const unsigned char key[ATTEST_KEY_LEN] = { 0 };
static const char nonce[] = "devid-fuzz-nonce";

static size_t der_header(unsigned char *out, size_t len)
{
    out[0] = 0x30;
    if (len < 0x80) {
        out[1] = (unsigned char)len;
        return 2;
    }
    size_t n = 0;
    for (size_t v = len; v; v >>= 8)
        n++;
    out[1] = (unsigned char)(0x80 | n);
    for (size_t i = 0; i < n; i++)
        out[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
    return 2 + n;
}

static unsigned char *cert_der(X509 *c, int *len)
{
    unsigned char *d = NULL;
    *len = i2d_X509(c, &d);
    FUZZ_ASSERT(*len > 0, "re-encoding a certificate");
    return d;
}

/* AttestedCertificates from parsed pieces, parsed again: the same certificates. */
static void check_certs_roundtrip(X509 *iak, X509 *idevid, STACK_OF(X509) *chain)
{
    size_t chain_len = 0;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        int l = 0;
        OPENSSL_free(cert_der(sk_X509_value(chain, i), &l));
        chain_len += (size_t)l;
    }
    int li = 0, ld = 0;
    unsigned char *di = cert_der(iak, &li), *dd = cert_der(idevid, &ld);
    /* content from offset 12; the outer header (at most 12 bytes) goes just before it */
    unsigned char *buf = malloc((size_t)li + (size_t)ld + chain_len + 32);
    FUZZ_ASSERT(buf, "memory");
    memcpy(buf + 12, di, (size_t)li);
    memcpy(buf + 12 + li, dd, (size_t)ld);
    size_t pos = 12 + (size_t)li + (size_t)ld;
    pos += der_header(buf + pos, chain_len);
    for (int i = 0; i < sk_X509_num(chain); i++) {
        int l = 0;
        unsigned char *d = cert_der(sk_X509_value(chain, i), &l);
        memcpy(buf + pos, d, (size_t)l);
        pos += (size_t)l;
        OPENSSL_free(d);
    }
    size_t content = pos - 12;
    unsigned char hdr[8];
    size_t h = der_header(hdr, content);
    size_t off = 12 - h;
    memcpy(buf + off, hdr, h);
    X509 *a = NULL, *b = NULL;
    STACK_OF(X509) *c = NULL;
    FUZZ_ASSERT(attest_certs_parse(buf + off, h + content, &a, &b, &c) == DEVID_OK,
                "re-encoded AttestedCertificates refused: %s", devid_last_error());
    int la = 0, lb = 0;
    unsigned char *da = cert_der(a, &la), *db = cert_der(b, &lb);
    FUZZ_ASSERT(la == li && memcmp(da, di, (size_t)li) == 0, "IAK certificate differs");
    FUZZ_ASSERT(lb == ld && memcmp(db, dd, (size_t)ld) == 0, "IDevID certificate differs");
    FUZZ_ASSERT(sk_X509_num(c) == sk_X509_num(chain), "chain length differs");
    OPENSSL_free(da);
    OPENSSL_free(db);
    OPENSSL_free(di);
    OPENSSL_free(dd);
    X509_free(a);
    X509_free(b);
    sk_X509_pop_free(c, X509_free);
    free(buf);
}

static void check_certs(devid_rc rc, X509 *iak, X509 *idevid, STACK_OF(X509) *chain)
{
    if (rc != DEVID_OK)
        return;
    FUZZ_ASSERT(iak && idevid && chain, "accepted without both certificates and a chain");
    check_certs_roundtrip(iak, idevid, chain);
    X509_free(iak);
    X509_free(idevid);
    sk_X509_pop_free(chain, X509_free);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    attest_response r;
    devid_rc rc = attest_response_parse(data, size, &r);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_MEMORY, "rc %s",
                devid_rc_name(rc));
    if (rc == DEVID_OK) {
        FUZZ_ASSERT(r.sealed_len >= ATTEST_GCM_TAG, "sealed shorter than the tag");
        FUZZ_ASSERT(r.credential_blob && r.encrypted_secret && r.sealed, "missing parts");
        X509 *iak = NULL, *idevid = NULL;
        STACK_OF(X509) *chain = NULL;
        rc = attest_certs_open(key, &r, (const unsigned char *)nonce, strlen(nonce), &iak, &idevid,
                               &chain);
        FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_AUTH || rc == DEVID_ERR_FORMAT, "open: rc %s",
                    devid_rc_name(rc));
        check_certs(rc, iak, idevid, chain);
        attest_response_clear(&r);
    } else {
        FUZZ_ASSERT(!r.credential_blob && !r.encrypted_secret && !r.sealed,
                    "a refused answer left buffers");
    }
    X509 *iak = NULL, *idevid = NULL;
    STACK_OF(X509) *chain = NULL;
    rc = attest_certs_parse(data, size, &iak, &idevid, &chain);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT, "certs: rc %s", devid_rc_name(rc));
    check_certs(rc, iak, idevid, chain);
    ERR_clear_error();
    devid_clear_error();
    return 0;
}
