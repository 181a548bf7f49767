/* SPDX-License-Identifier: Apache-2.0 */
/* The software RSA encodings used with the TPM's raw RSA operation, checked against OpenSSL
 * with a software key standing in for the TPM. */
#include "devid_test.h"
#include "ecdsa_der.h"
#include "error.h"
#include "rsa_pad.h"
#include "rsa_scheme.h"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <string.h>

static bool raw_private(EVP_PKEY *key, const unsigned char *in, size_t k, unsigned char *out)
{
    size_t outlen = k;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    bool ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
              EVP_PKEY_sign(ctx, out, &outlen, in, k) == 1 && outlen == k;
    EVP_PKEY_CTX_free(ctx);
    return ok;
}

static void test_pss(unsigned bits, const char *md, int nid)
{
    EVP_PKEY *key = EVP_RSA_gen(bits);
    size_t k = (size_t)EVP_PKEY_get_size(key);
    unsigned char digest[64], em[512], sig[512];
    unsigned int dlen = 0;
    EVP_Digest("pss", 3, digest, &dlen, EVP_get_digestbyname(md), NULL);
    CHECK_RC(devid_rsa_pad_pss(nid, digest, dlen, (int)bits, em, k), DEVID_OK);
    CHECK(raw_private(key, em, k, sig), "raw RSA %u", bits);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CHECK(ctx && EVP_PKEY_verify_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_signature_md(ctx, EVP_get_digestbyname(md)) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)dlen) == 1 &&
              EVP_PKEY_verify(ctx, sig, k, digest, dlen) == 1,
          "PSS %s/%u bits with salt = digest length verifies", md, bits);
    EVP_PKEY_CTX_free(ctx);
    CHECK_RC(devid_rsa_pad_pss(nid, digest, dlen - 1, (int)bits, em, k), DEVID_ERR_ARG);
    EVP_PKEY_free(key);
}

static void test_pkcs1(void)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    unsigned char t[256], em[256], sig[256], back[256];
    memset(t, 0x33, sizeof(t));
    CHECK_RC(devid_rsa_pad_pkcs1(t, 36, em, 256), DEVID_OK);
    CHECK(raw_private(key, em, 256, sig), "raw RSA");
    size_t backlen = sizeof(back);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    CHECK(ctx && EVP_PKEY_verify_recover_init(ctx) == 1 &&
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
              EVP_PKEY_verify_recover(ctx, back, &backlen, sig, 256) == 1 && backlen == 36 &&
              memcmp(back, t, 36) == 0,
          "PKCS#1 type 1 block recovers");
    EVP_PKEY_CTX_free(ctx);
    CHECK_RC(devid_rsa_pad_pkcs1(t, 246, em, 256), DEVID_ERR_ARG);
    CHECK_RC(devid_rsa_pad_pkcs1(t, 245, em, 256), DEVID_OK);
    EVP_PKEY_free(key);
}

static void test_digestinfo(void)
{
    static const unsigned char sha256_di[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
                                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                                               0x01, 0x05, 0x00, 0x04, 0x20 };
    unsigned char in[sizeof(sha256_di) + 33], out[64];
    memcpy(in, sha256_di, sizeof(sha256_di));
    memset(in + sizeof(sha256_di), 0xab, 33);
    int nid = 0;
    size_t dlen = 0;
    CHECK_RC(devid_rsa_parse_digestinfo(in, sizeof(sha256_di) + 32, &nid, out, &dlen), DEVID_OK);
    CHECK(nid == NID_sha256 && dlen == 32 && out[31] == 0xab, "SHA-256 DigestInfo");
    CHECK_RC(devid_rsa_parse_digestinfo(in, sizeof(in), &nid, out, &dlen), DEVID_ERR_FORMAT);
    CHECK_RC(devid_rsa_parse_digestinfo(in, sizeof(sha256_di) + 31, &nid, out, &dlen),
             DEVID_ERR_FORMAT);
    in[1] = 0x30; /* wrong inner length */
    CHECK_RC(devid_rsa_parse_digestinfo(in, sizeof(sha256_di) + 32, &nid, out, &dlen),
             DEVID_ERR_FORMAT);
    static const unsigned char md5_di[] = { 0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                            0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10,
                                            1,    2,    3,    4,    5,    6,    7,    8,    9,
                                            10,   11,   12,   13,   14,   15,   16 };
    CHECK_RC(devid_rsa_parse_digestinfo(md5_di, sizeof(md5_di), &nid, out, &dlen),
             DEVID_ERR_FORMAT);
    CHECK_RC(devid_rsa_parse_digestinfo(md5_di, 0, &nid, out, &dlen), DEVID_ERR_FORMAT);

    /* encoding (a signature with a hash the TPM lacks): the bytes parsing accepts */
    unsigned char digest[64], der[128];
    memset(digest, 0x5c, sizeof(digest));
    size_t derlen = 0;
    CHECK_RC(devid_rsa_digestinfo(NID_sha256, digest, 32, der, sizeof(der), &derlen), DEVID_OK);
    CHECK(derlen == sizeof(sha256_di) + 32 && memcmp(der, sha256_di, sizeof(sha256_di)) == 0,
          "SHA-256 DigestInfo encoded as PKCS#1 lists it");
    CHECK_RC(devid_rsa_digestinfo(NID_sha512, digest, 64, der, sizeof(der), &derlen), DEVID_OK);
    CHECK_RC(devid_rsa_parse_digestinfo(der, derlen, &nid, out, &dlen), DEVID_OK);
    CHECK(nid == NID_sha512 && dlen == 64 && out[63] == 0x5c, "SHA-512 DigestInfo round trip");
    CHECK_RC(devid_rsa_digestinfo(NID_sha512, digest, 64, der, 80, &derlen), DEVID_ERR_BUFFER);
}

/* The TPM's limits on PSS and OAEP, as every front-end sees them. */
static void test_scheme_checks(void)
{
    CHECK(devid_rsa_check_pss(NID_sha256, NID_sha256, 32) == DEVID_OK, "PSS salt 32 / SHA-256");
    CHECK(devid_rsa_check_pss(NID_sha384, NID_sha384, RSA_PSS_SALTLEN_DIGEST) == DEVID_OK &&
              devid_rsa_check_pss(NID_sha384, NID_sha384, RSA_PSS_SALTLEN_AUTO) == DEVID_OK,
          "PSS salt 'digest' and 'auto' mean the digest length");
    CHECK(devid_rsa_check_pss(NID_sha256, NID_sha256, 20) == DEVID_ERR_UNSUPPORTED &&
              devid_rsa_check_pss(NID_sha256, NID_sha256, RSA_PSS_SALTLEN_MAX) ==
                  DEVID_ERR_UNSUPPORTED,
          "PSS with another salt length is refused");
    CHECK(devid_rsa_check_pss(NID_sha256, NID_sha1, 32) == DEVID_ERR_UNSUPPORTED,
          "PSS with MGF1 over another hash is refused");
    CHECK(devid_rsa_check_pss(NID_undef, NID_undef, 32) == DEVID_ERR_ARG, "PSS needs a digest");
    CHECK(devid_rsa_check_oaep(NID_sha256, NID_sha256, 0) == DEVID_OK, "OAEP SHA-256");
    CHECK(devid_rsa_check_oaep(NID_sha256, NID_sha256, 4) == DEVID_ERR_UNSUPPORTED,
          "OAEP labels are refused");
    CHECK(devid_rsa_check_oaep(NID_sha256, NID_sha1, 0) == DEVID_ERR_UNSUPPORTED,
          "OAEP with MGF1 over another hash is refused");
    CHECK(devid_rsa_check_oaep(NID_undef, NID_undef, 0) == DEVID_ERR_UNSUPPORTED,
          "OAEP needs a digest");
}

/* r||s -> DER: the DER decodes back to the same integers; bad input gives 0. */
static void test_ecdsa_der(void)
{
    unsigned char rs[64], der[80];
    for (size_t i = 0; i < sizeof(rs); i++)
        rs[i] = (unsigned char)(i < 32 ? 0x80 + i : i); /* r needs a leading zero, s not */
    size_t n = devid_ecdsa_rs_to_der(rs, sizeof(rs), NULL, 0);
    CHECK(n == 71 && devid_ecdsa_rs_to_der(rs, sizeof(rs), der, sizeof(der)) == n, "DER length %zu",
          n);
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)n);
    unsigned char back[64];
    CHECK(es && BN_bn2binpad(ECDSA_SIG_get0_r(es), back, 32) == 32 &&
              BN_bn2binpad(ECDSA_SIG_get0_s(es), back + 32, 32) == 32 && memcmp(back, rs, 64) == 0,
          "DER decodes to r and s");
    ECDSA_SIG_free(es);
    CHECK(n <= devid_ecdsa_der_max(32) && devid_ecdsa_der_max(66) <= 141, "DER size bound");
    CHECK(devid_ecdsa_rs_to_der(rs, sizeof(rs), der, n - 1) == 0, "too small a buffer");
    CHECK(devid_ecdsa_rs_to_der(rs, 63, der, sizeof(der)) == 0 &&
              devid_ecdsa_rs_to_der(rs, 0, der, sizeof(der)) == 0,
          "odd or empty r||s");
}

struct pss_case {
    unsigned bits;
    const char *md;
    int nid;
};

static void test_pss_case(const void *data)
{
    const struct pss_case *c = data;
    test_pss(c->bits, c->md, c->nid);
}

int main(int argc, char **argv)
{
    static const struct pss_case pss2048 = { 2048, "SHA256", NID_sha256 },
                                 pss3072 = { 3072, "SHA384", NID_sha384 },
                                 pss4096 = { 4096, "SHA512", NID_sha512 };
    devid_test(test_scheme_checks, "/rsa-pad/scheme-checks");
    devid_test(test_ecdsa_der, "/rsa-pad/ecdsa-der");
    devid_testx(test_pss_case, &pss2048, "/rsa-pad/pss/2048-sha256");
    devid_testx(test_pss_case, &pss3072, "/rsa-pad/pss/3072-sha384");
    devid_testx(test_pss_case, &pss4096, "/rsa-pad/pss/4096-sha512");
    devid_test(test_pkcs1, "/rsa-pad/pkcs1");
    devid_test(test_digestinfo, "/rsa-pad/digestinfo");
    return devid_test_run("test_rsa_pad", argc, argv);
}
