/* SPDX-License-Identifier: Apache-2.0 */
#include "rsa_pad.h"
#include "tpm_pub.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <string.h>

devid_rc devid_rsa_pad_pkcs1(const unsigned char *t, size_t tlen, unsigned char *em, size_t k)
{
    if (k < 11 || tlen > k - 11)
        return devid_fail(DEVID_ERR_ARG, "%zu bytes do not fit a PKCS#1 block of %zu", tlen, k);
    em[0] = 0x00;
    em[1] = 0x01;
    memset(em + 2, 0xff, k - tlen - 3);
    em[k - tlen - 1] = 0x00;
    memcpy(em + k - tlen, t, tlen);
    return DEVID_OK;
}

/* MGF1 (RFC 8017 B.2.1), XORed into out[len]. */
static int mgf1_xor(const EVP_MD *md, const unsigned char *seed, size_t seedlen, unsigned char *out,
                    size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char block[EVP_MAX_MD_SIZE];
    unsigned int blen = 0;
    int ok = ctx != NULL;
    for (uint32_t counter = 0, done = 0; ok && done < len; counter++) {
        unsigned char c[4] = { counter >> 24, counter >> 16, counter >> 8, counter };
        ok = EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, seed, seedlen) &&
             EVP_DigestUpdate(ctx, c, 4) && EVP_DigestFinal_ex(ctx, block, &blen);
        for (unsigned i = 0; ok && i < blen && done < len; i++)
            out[done++] ^= block[i];
    }
    EVP_MD_CTX_free(ctx);
    return ok;
}

devid_rc devid_rsa_pad_pss(int md_nid, const unsigned char *mhash, size_t hlen, int mod_bits,
                           unsigned char *em, size_t k)
{
    EVP_MD *md = EVP_MD_fetch(NULL, OBJ_nid2sn(md_nid), DEVID_SW_PROPQ);
    if (!md || (size_t)EVP_MD_get_size(md) != hlen) {
        EVP_MD_free(md);
        return devid_fail(DEVID_ERR_ARG, "PSS: digest length %zu does not match %s", hlen,
                          OBJ_nid2sn(md_nid));
    }
    size_t em_bits = (size_t)mod_bits - 1, em_len = (em_bits + 7) / 8, slen = hlen;
    if (em_len > k || em_len < hlen + slen + 2) {
        EVP_MD_free(md);
        return devid_fail(DEVID_ERR_ARG, "PSS: modulus too small for %s", OBJ_nid2sn(md_nid));
    }
    unsigned char salt[EVP_MAX_MD_SIZE], h[EVP_MAX_MD_SIZE];
    static const unsigned char zeros[8];
    unsigned int h_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && RAND_bytes(salt, (int)slen) == 1 && EVP_DigestInit_ex(ctx, md, NULL) &&
             EVP_DigestUpdate(ctx, zeros, 8) && EVP_DigestUpdate(ctx, mhash, hlen) &&
             EVP_DigestUpdate(ctx, salt, slen) && EVP_DigestFinal_ex(ctx, h, &h_len);
    EVP_MD_CTX_free(ctx);

    /* EM = maskedDB || H || 0xbc, where DB = PS || 0x01 || salt; left-padded to k bytes. */
    size_t off = k - em_len, db_len = em_len - hlen - 1;
    unsigned char *db = em + off;
    memset(em, 0, k);
    db[db_len - slen - 1] = 0x01;
    memcpy(db + db_len - slen, salt, slen);
    ok = ok && mgf1_xor(md, h, hlen, db, db_len);
    db[0] &= (unsigned char)(0xff >> (8 * em_len - em_bits));
    memcpy(db + db_len, h, hlen);
    em[k - 1] = 0xbc;
    EVP_MD_free(md);
    if (!ok)
        return devid_fail(DEVID_ERR_INTERNAL, "PSS encoding failed");
    return DEVID_OK;
}

devid_rc devid_rsa_parse_digestinfo(const unsigned char *in, size_t len, int *md_nid,
                                    unsigned char *digest, size_t *dlen)
{
    const unsigned char *p = in;
    ERR_set_mark(); /* a failed parse is an answer here, not an error for the caller's queue */
    X509_SIG *sig = d2i_X509_SIG(NULL, &p, (long)len);
    ERR_pop_to_mark();
    devid_rc rc = DEVID_ERR_FORMAT;
    if (sig && p == in + len) {
        const X509_ALGOR *alg = NULL;
        const ASN1_OCTET_STRING *os = NULL;
        X509_SIG_get0(sig, &alg, &os);
        int nid = OBJ_obj2nid(alg->algorithm);
        size_t want = devid_tpm_hash_size(devid_tpm_hash_from_nid(nid));
        /* Only the DER the TPM's RSASSA signs (NULL parameters): for any other encoding of
         * the digest the signature would cover other bytes than `in`. */
        unsigned char *der = NULL;
        int derlen = i2d_X509_SIG(sig, &der);
        int canonical = alg->parameter && ASN1_TYPE_get(alg->parameter) == V_ASN1_NULL &&
                        derlen > 0 && (size_t)derlen == len && memcmp(der, in, len) == 0;
        OPENSSL_free(der);
        if (want && canonical && (size_t)ASN1_STRING_length(os) == want) {
            memcpy(digest, ASN1_STRING_get0_data(os), want);
            *dlen = want;
            *md_nid = nid;
            rc = DEVID_OK;
        }
    }
    X509_SIG_free(sig);
    return rc;
}

devid_rc devid_rsa_digestinfo(int md_nid, const unsigned char *digest, size_t dlen,
                              unsigned char *out, size_t max, size_t *outlen)
{
    X509_SIG *sig = X509_SIG_new();
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *os = NULL;
    unsigned char *der = NULL;
    int derlen = -1;
    if (sig) {
        X509_SIG_getm(sig, &alg, &os);
        if (X509_ALGOR_set0(alg, OBJ_nid2obj(md_nid), V_ASN1_NULL, NULL) == 1 &&
            ASN1_OCTET_STRING_set(os, digest, (int)dlen) == 1)
            derlen = i2d_X509_SIG(sig, &der);
    }
    X509_SIG_free(sig);
    devid_rc rc = DEVID_OK;
    if (derlen <= 0)
        rc = devid_fail(DEVID_ERR_MEMORY, "encoding a DigestInfo");
    else if ((size_t)derlen > max)
        rc = devid_fail(DEVID_ERR_BUFFER, "DigestInfo of %d bytes", derlen);
    else {
        memcpy(out, der, (size_t)derlen);
        *outlen = (size_t)derlen;
    }
    OPENSSL_free(der);
    return rc;
}
