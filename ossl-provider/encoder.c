/* ENCODERS for the public part of devid keys: SubjectPublicKeyInfo (DER, PEM) and text.
 * The text form also says where the private part is (the TPM handle or store object). */
#include "provider.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

enum enc_kind { ENC_SPKI_DER, ENC_SPKI_PEM, ENC_TEXT };

static void *enc_newctx(void *provctx) { return provctx; }
static void enc_freectx(void *ctx) { (void)ctx; }

static int spki_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
}

static int text_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_ALL) != 0;
}

static int write_text(BIO *mem, const dp_key *key, int selection)
{
    if (EVP_PKEY_print_public(mem, key->pub, 0, NULL) <= 0)
        return 0;
    if (!(selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) || !key->tpm)
        return 1;
    unsigned f = devid_key_get_flags(key->tpm);
    int ok = BIO_printf(mem, "private key: in the TPM") > 0;
    if (ok && key->uid[0])
        ok = BIO_printf(mem, " (store object %s)", key->uid) > 0;
    else if (ok && devid_key_get_handle(key->tpm))
        ok = BIO_printf(mem, " (persistent handle 0x%08x)", devid_key_get_handle(key->tpm)) > 0;
    if (ok)
        ok = BIO_printf(mem, "\nTPM attributes:%s%s%s%s%s%s\n",
                        (f & DEVID_KEY_CAN_SIGN) ? " sign" : "",
                        (f & DEVID_KEY_CAN_DECRYPT) ? " decrypt" : "",
                        (f & DEVID_KEY_RESTRICTED) ? " restricted" : "",
                        (f & DEVID_KEY_FIXED_TPM) ? " fixedTPM" : "",
                        (f & DEVID_KEY_TPM_GENERATED) ? " sensitiveDataOrigin" : "",
                        (f & DEVID_KEY_NEEDS_AUTH) ? " auth-value" : "") > 0;
    return ok;
}

static int encode(void *vctx, OSSL_CORE_BIO *out, const void *obj, int selection,
                  enum enc_kind kind)
{
    dp_ctx *ctx = vctx;
    const dp_key *key = obj;
    if (!key || !key->pub) {
        dp_raise(ctx, DP_R_ARG, "no key to encode");
        return 0;
    }
    BIO *mem = BIO_new(BIO_s_mem());
    int ok = mem != NULL;
    if (ok) {
        switch (kind) {
        case ENC_SPKI_DER:
            ok = i2d_PUBKEY_bio(mem, key->pub) == 1;
            break;
        case ENC_SPKI_PEM:
            ok = PEM_write_bio_PUBKEY(mem, key->pub) == 1;
            break;
        case ENC_TEXT:
            ok = write_text(mem, key, selection);
            break;
        }
    }
    BUF_MEM *buf = NULL;
    if (ok)
        ok = BIO_get_mem_ptr(mem, &buf) == 1 && buf;
    if (ok)
        ok = dp_bio_write_all(ctx, out, buf->data, buf->length);
    else
        dp_raise(ctx, DP_R_OPENSSL, "encoding a public key");
    BIO_free(mem);
    return ok;
}

static int spki_der_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                           const OSSL_PARAM abstract[], int selection,
                           OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)abstract;
    (void)cb;
    (void)cbarg;
    return encode(ctx, out, obj, selection, ENC_SPKI_DER);
}

static int spki_pem_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                           const OSSL_PARAM abstract[], int selection,
                           OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)abstract;
    (void)cb;
    (void)cbarg;
    return encode(ctx, out, obj, selection, ENC_SPKI_PEM);
}

static int text_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                       const OSSL_PARAM abstract[], int selection, OSSL_PASSPHRASE_CALLBACK *cb,
                       void *cbarg)
{
    (void)abstract;
    (void)cb;
    (void)cbarg;
    return encode(ctx, out, obj, selection, ENC_TEXT);
}

#define ENCODER(name, does, fn)                                                                \
    const OSSL_DISPATCH name[] = {                                                             \
        { OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx },                              \
        { OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx },                            \
        { OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))does },                            \
        { OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))fn },                                      \
        { 0, NULL },                                                                           \
    }

ENCODER(dp_spki_der_ec_encoder_functions, spki_does_selection, spki_der_encode);
ENCODER(dp_spki_der_rsa_encoder_functions, spki_does_selection, spki_der_encode);
ENCODER(dp_spki_pem_ec_encoder_functions, spki_does_selection, spki_pem_encode);
ENCODER(dp_spki_pem_rsa_encoder_functions, spki_does_selection, spki_pem_encode);
ENCODER(dp_text_ec_encoder_functions, text_does_selection, text_encode);
ENCODER(dp_text_rsa_encoder_functions, text_does_selection, text_encode);
