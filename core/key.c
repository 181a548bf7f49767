#include "key_internal.h"
#include "log.h"
#include "tpm.h"
#include "tpm_pub.h"

#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

static unsigned flags_from_attrs(TPMA_OBJECT a)
{
    unsigned f = 0;
    if (a & TPMA_OBJECT_SIGN_ENCRYPT)
        f |= DEVID_KEY_CAN_SIGN;
    if (a & TPMA_OBJECT_DECRYPT)
        f |= DEVID_KEY_CAN_DECRYPT;
    if (a & TPMA_OBJECT_RESTRICTED)
        f |= DEVID_KEY_RESTRICTED;
    if (a & TPMA_OBJECT_FIXEDTPM)
        f |= DEVID_KEY_FIXED_TPM;
    if (a & TPMA_OBJECT_SENSITIVEDATAORIGIN)
        f |= DEVID_KEY_TPM_GENERATED;
    return f;
}

devid_rc devid_key_bind(ESYS_CONTEXT *ctx, devid_key *key)
{
    if (key->generation != devid_tpm_generation() || key->tr == ESYS_TR_NONE) {
        devid_rc rc = devid_tpm_resolve(ctx, key->handle, &key->tr);
        if (rc != DEVID_OK) {
            key->tr = ESYS_TR_NONE;
            return rc;
        }
        key->generation = devid_tpm_generation();
    }
    TSS2_RC trc = Esys_TR_SetAuth(ctx, key->tr, &key->auth);
    return devid_tpm_check(trc, "setting the key's auth value");
}

static devid_rc read_public(ESYS_CONTEXT *ctx, devid_key *key)
{
    TPM2B_PUBLIC *pub = NULL;
    devid_tpm_count_command();
    TSS2_RC rc = Esys_ReadPublic(ctx, key->tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub,
                                 NULL, NULL);
    devid_rc drc = devid_tpm_check(rc, "reading the key's public area");
    if (drc != DEVID_OK)
        return drc;
    key->pub = pub->publicArea;
    Esys_Free(pub);
    return DEVID_OK;
}

static devid_rc describe(devid_key *key)
{
    devid_rc rc = devid_tpm_public_to_evp(&key->pub, &key->pkey);
    if (rc != DEVID_OK)
        return rc;
    key->flags = flags_from_attrs(key->pub.objectAttributes);
    key->bits = EVP_PKEY_get_bits(key->pkey);
    if (key->pub.type == TPM2_ALG_ECC) {
        key->type = DEVID_KEY_EC;
        key->size = devid_tpm_curve_order_len(key->pub.parameters.eccDetail.curveID);
    } else {
        key->type = DEVID_KEY_RSA;
        key->size = key->pub.unique.rsa.size;
    }
    return DEVID_OK;
}

devid_rc devid_key_open_persistent(uint32_t handle, devid_key **out)
{
    if ((handle >> 24) != TPM2_HT_PERSISTENT)
        return devid_fail(DEVID_ERR_ARG, "0x%08x is not a persistent handle", handle);
    devid_key *key = calloc(1, sizeof(*key));
    if (!key)
        return devid_fail(DEVID_ERR_MEMORY, "key allocation");
    key->handle = handle;
    key->tr = ESYS_TR_NONE;

    ESYS_CONTEXT *ctx;
    devid_rc rc = devid_tpm_lock(&ctx);
    if (rc != DEVID_OK) {
        free(key);
        return rc;
    }
    rc = devid_key_bind(ctx, key);
    if (rc == DEVID_OK)
        rc = read_public(ctx, key);
    devid_tpm_unlock();
    if (rc == DEVID_OK)
        rc = describe(key);
    if (rc != DEVID_OK) {
        devid_key_free(key);
        return rc == DEVID_ERR_NOT_FOUND
                   ? devid_fail(rc, "no key at persistent handle 0x%08x", handle)
                   : rc;
    }
    devid_debug("opened key 0x%08x (%s, %d bits)", handle, key->type == DEVID_KEY_EC ? "EC" : "RSA",
                key->bits);
    *out = key;
    return DEVID_OK;
}

void devid_key_free(devid_key *key)
{
    if (!key)
        return;
    /* The ESYS_TR is released with the connection; closing it here would need the TPM lock
     * and a live connection for no TPM-side effect. */
    EVP_PKEY_free(key->pkey);
    OPENSSL_cleanse(&key->auth, sizeof(key->auth));
    free(key);
}

devid_rc devid_key_set_auth(devid_key *key, const void *auth, size_t len)
{
    if (len > sizeof(key->auth.buffer))
        return devid_fail(DEVID_ERR_ARG, "auth value longer than %zu bytes",
                          sizeof(key->auth.buffer));
    OPENSSL_cleanse(&key->auth, sizeof(key->auth));
    if (len)
        memcpy(key->auth.buffer, auth, len);
    key->auth.size = (UINT16)len;
    if (len)
        key->flags |= DEVID_KEY_NEEDS_AUTH;
    else
        key->flags &= ~(unsigned)DEVID_KEY_NEEDS_AUTH;
    return DEVID_OK;
}

devid_key_type devid_key_get_type(const devid_key *key) { return key->type; }
unsigned devid_key_get_flags(const devid_key *key) { return key->flags; }
uint32_t devid_key_get_handle(const devid_key *key) { return key->handle; }
int devid_key_get_bits(const devid_key *key) { return key->bits; }
EVP_PKEY *devid_key_get_public(const devid_key *key) { return key->pkey; }

size_t devid_key_sig_size(const devid_key *key)
{
    return key->type == DEVID_KEY_EC ? 2 * key->size : key->size;
}

devid_rc devid_pubkey_id(EVP_PKEY *pub, unsigned char id[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *bits = NULL;
    int len = 0;
    devid_rc rc = DEVID_ERR_FORMAT;
    if (X509_PUBKEY_set(&xpk, pub) == 1 &&
        X509_PUBKEY_get0_param(NULL, &bits, &len, NULL, xpk) == 1 &&
        EVP_Digest(bits, (size_t)len, id, NULL, EVP_sha1(), NULL) == 1)
        rc = DEVID_OK;
    X509_PUBKEY_free(xpk);
    return rc == DEVID_OK ? rc : devid_fail(rc, "cannot encode the public key");
}
