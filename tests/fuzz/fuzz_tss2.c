/* SPDX-License-Identifier: Apache-2.0 */
/* devid_tss2_decode (core/tss2_file.h): TSS2 PRIVATE KEY files, PEM or DER (ASN.1 TPMKey, then
 * tpm2-tss unmarshalling of the public area and private blob).
 *
 * Properties: a decoded key encodes (devid_tss2_encode_pem), the encoding decodes to the same
 * key, and encoding that gives the same PEM again (decode -> encode -> decode is stable).
 * A decoded key also goes where loading takes it before the TPM sees it: its public area
 * becomes an EVP_PKEY (devid_tpm_public_to_evp).
 *
 * Inputs that start like neither PEM nor DER (0x30) are also taken as the raw TPM blobs
 * TPM2B_PUBLIC || TPM2B_PRIVATE (the first size field says where the public area ends) and
 * wrapped in a valid TPMKey, so mutations reach the unmarshalling and the round trip without
 * having to keep the ASN.1 intact: libcrypto and libtss2-mu are not instrumented, so libFuzzer
 * gets no coverage guidance inside them. */
#include "fuzz.h"

#include "tpm_pub.h"
#include "tss2_file.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <string.h>
#include <tss2/tss2_mu.h>

/* The key's fields in their wire form, for comparison. */
static size_t wire(const devid_tss2_key *k, uint8_t *buf, size_t cap)
{
    size_t off = 0;
    FUZZ_ASSERT(Tss2_MU_UINT32_Marshal(k->parent, buf, cap, &off) == TSS2_RC_SUCCESS &&
                    Tss2_MU_UINT8_Marshal(k->empty_auth, buf, cap, &off) == TSS2_RC_SUCCESS &&
                    Tss2_MU_TPM2B_PUBLIC_Marshal(&k->pub, buf, cap, &off) == TSS2_RC_SUCCESS &&
                    Tss2_MU_TPM2B_PRIVATE_Marshal(&k->priv, buf, cap, &off) == TSS2_RC_SUCCESS,
                "a decoded key does not marshal");
    return off;
}

static void check(const uint8_t *data, size_t size)
{
    static devid_tss2_key k1, k2, k3;
    static uint8_t w1[sizeof(devid_tss2_key) + 16], w2[sizeof(w1)];

    devid_rc rc = devid_tss2_decode(data, size, &k1);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_UNSUPPORTED || rc == DEVID_ERR_MEMORY,
                    "rc %s", devid_rc_name(rc));
        return;
    }
    EVP_PKEY *pkey = NULL;
    rc = devid_tpm_public_to_evp(&k1.pub.publicArea, &pkey);
    FUZZ_ASSERT(rc == DEVID_OK || rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_UNSUPPORTED ||
                    rc == DEVID_ERR_MEMORY,
                "public key: rc %s", devid_rc_name(rc));
    FUZZ_ASSERT((rc == DEVID_OK) == (pkey != NULL), "public key: rc and key disagree");
    EVP_PKEY_free(pkey);
    ERR_clear_error();

    char *pem1 = NULL, *pem2 = NULL;
    size_t len1 = 0, len2 = 0;
    FUZZ_ASSERT(devid_tss2_encode_pem(&k1, &pem1, &len1) == DEVID_OK, "encode: %s",
                devid_last_error());
    FUZZ_ASSERT(strlen(pem1) == len1, "PEM length");
    FUZZ_ASSERT(devid_tss2_decode((const unsigned char *)pem1, len1, &k2) == DEVID_OK,
                "our own encoding does not decode: %s", devid_last_error());
    size_t n1 = wire(&k1, w1, sizeof(w1)), n2 = wire(&k2, w2, sizeof(w2));
    FUZZ_ASSERT(n1 == n2 && memcmp(w1, w2, n1) == 0, "decode(encode(key)) != key");
    FUZZ_ASSERT(devid_tss2_encode_pem(&k2, &pem2, &len2) == DEVID_OK, "re-encode: %s",
                devid_last_error());
    FUZZ_ASSERT(len1 == len2 && memcmp(pem1, pem2, len1) == 0, "encoding not stable");

    /* The DER inside our PEM decodes to the same key too (the decoder's DER path). */
    BIO *bio = BIO_new_mem_buf(pem1, (int)len1);
    char *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    long derlen = 0;
    FUZZ_ASSERT(bio && PEM_read_bio(bio, &name, &header, &der, &derlen) == 1 &&
                    strcmp(name, DEVID_TSS2_PEM_NAME) == 0,
                "our PEM does not read back");
    FUZZ_ASSERT(devid_tss2_decode(der, (size_t)derlen, &k3) == DEVID_OK, "DER decode: %s",
                devid_last_error());
    size_t n3 = wire(&k3, w2, sizeof(w2));
    FUZZ_ASSERT(n1 == n3 && memcmp(w1, w2, n1) == 0, "decode(DER) != key");
    BIO_free(bio);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    OPENSSL_free(pem1);
    OPENSSL_free(pem2);
}

static size_t der_len(uint8_t *out, size_t n)
{
    if (n < 0x80) {
        out[0] = (uint8_t)n;
        return 1;
    }
    out[0] = 0x82; /* inputs are far below 64 KiB */
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    return 3;
}

static size_t der_tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t n)
{
    out[0] = tag;
    size_t h = 1 + der_len(out + 1, n);
    memcpy(out + h, v, n);
    return h + n;
}

/* TPMKey { loadable OID, emptyAuth TRUE, parent 0x81000001, pub, priv } around raw blobs. */
static void check_blobs(const uint8_t *data, size_t size)
{
    static const uint8_t head[] = { 0x06, 0x06, 0x67, 0x81, 0x05, 0x0a, 0x01, 0x03, 0xa0, 0x03,
                                    0x01, 0x01, 0xff, 0x02, 0x05, 0x00, 0x81, 0x00, 0x00, 0x01 };
    size_t publen = 2 + ((size_t)data[0] << 8 | data[1]);
    if (publen > size)
        publen = size;
    uint8_t *body = malloc(sizeof(head) + size + 8), *der = malloc(sizeof(head) + size + 12);
    FUZZ_ASSERT(body && der, "malloc");
    memcpy(body, head, sizeof(head));
    size_t n = sizeof(head);
    n += der_tlv(body + n, 0x04, data, publen);
    n += der_tlv(body + n, 0x04, data + publen, size - publen);
    check(der, der_tlv(der, 0x30, body, n));
    free(body);
    free(der);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(data, size);
    if (size >= 2 && size < 16384 && data[0] != 0x30 && data[0] != '-')
        check_blobs(data, size);
    return 0;
}
