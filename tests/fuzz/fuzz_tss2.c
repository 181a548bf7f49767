/* devid_tss2_decode (core/tss2_file.h): TSS2 PRIVATE KEY files, PEM or DER (ASN.1 TPMKey, then
 * tpm2-tss unmarshalling of the public area and private blob).
 *
 * Properties: a decoded key encodes (devid_tss2_encode_pem), the encoding decodes to the same
 * key, and encoding that gives the same PEM again (decode -> encode -> decode is stable). */
#include "fuzz.h"

#include "tss2_file.h"

#include <openssl/crypto.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static devid_tss2_key k1, k2, k3;
    static uint8_t w1[sizeof(devid_tss2_key) + 16], w2[sizeof(w1)];

    devid_rc rc = devid_tss2_decode(data, size, &k1);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_UNSUPPORTED ||
                        rc == DEVID_ERR_MEMORY,
                    "rc %s", devid_rc_name(rc));
        return 0;
    }
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
    return 0;
}
