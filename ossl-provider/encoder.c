/* SPDX-License-Identifier: Apache-2.0 */
/* ENCODERS for devid keys: SubjectPublicKeyInfo (DER, PEM) and text for the public part (the
 * text also says where the private part is), and for the "private key" of a TPM key what
 * loads it again (so `openssl genpkey` / `openssl pkey -out` write something useful):
 *   - a store key: its TSS2 PRIVATE KEY (PEM, or its DER), readable by tpm2-openssl too;
 *   - a persistent (factory) key: a devid key reference file naming its handle.
 * Soft keys are left to the default provider's encoders. */
#include "provider.h"

#include <openssl/bio.h>
#include <openssl/buffer.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/encoder.h>

enum enc_kind { ENC_SPKI_DER, ENC_SPKI_PEM, ENC_TEXT, ENC_PRIV_PEM, ENC_PRIV_DER };

typedef struct enc_ctx {
    dp_ctx *ctx;
    char cipher[64]; /* private-key encryption asked for (soft keys only) */
} enc_ctx;

/* Entry points, typed: a signature that does not match OpenSSL's does not compile. */
static OSSL_FUNC_encoder_newctx_fn enc_newctx;
static OSSL_FUNC_encoder_freectx_fn enc_freectx;
static OSSL_FUNC_encoder_settable_ctx_params_fn enc_settable_ctx_params;
static OSSL_FUNC_encoder_set_ctx_params_fn enc_set_ctx_params;
static OSSL_FUNC_encoder_does_selection_fn spki_does_selection, text_does_selection,
    priv_does_selection;
static OSSL_FUNC_encoder_encode_fn spki_der_encode, spki_pem_encode, text_encode, priv_pem_encode,
    priv_der_encode;

static void *enc_newctx(void *provctx)
{
    enc_ctx *e = calloc(1, sizeof(*e));
    if (!e)
        dp_raise(provctx, DP_R_MEMORY, "encoder context");
    else
        e->ctx = provctx;
    return e;
}
static void enc_freectx(void *vctx)
{
    free(vctx);
}

static const OSSL_PARAM *enc_settable_ctx_params(void *provctx)
{
    (void)provctx;
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_ENCODER_PARAM_CIPHER, NULL, 0),
        OSSL_PARAM_utf8_string(OSSL_ENCODER_PARAM_PROPERTIES, NULL, 0),
        OSSL_PARAM_END,
    };
    return params;
}

static int enc_set_ctx_params(void *vctx, const OSSL_PARAM params[])
{
    enc_ctx *e = vctx;
    const OSSL_PARAM *p = OSSL_PARAM_locate_const(params, OSSL_ENCODER_PARAM_CIPHER);
    char *c = e->cipher;
    if (p && !OSSL_PARAM_get_utf8_string(p, &c, sizeof(e->cipher)))
        return 0;
    return 1;
}

/* A private soft key (e.g. `openssl genpkey` without devid-label while our keymgmt was the one
 * fetched): PKCS#8 by the default provider, encrypted if asked. */
static int write_soft_private(enc_ctx *e, BIO *mem, const dp_key *key, int selection, bool der,
                              OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    OSSL_ENCODER_CTX *ec = OSSL_ENCODER_CTX_new_for_pkey(key->pub, selection, der ? "DER" : "PEM",
                                                         "PrivateKeyInfo", DP_SW_PROPQ);
    int ok = ec && OSSL_ENCODER_CTX_get_num_encoders(ec) > 0;
    if (ok && e->cipher[0])
        ok = OSSL_ENCODER_CTX_set_cipher(ec, e->cipher, NULL) == 1 &&
             OSSL_ENCODER_CTX_set_passphrase_cb(ec, cb, cbarg) == 1;
    if (ok)
        ok = OSSL_ENCODER_to_bio(ec, mem) == 1;
    OSSL_ENCODER_CTX_free(ec);
    if (!ok)
        dp_raise(e->ctx, DP_R_OPENSSL, "encoding a software private key");
    return ok;
}

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

static int priv_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) != 0;
}

/* The store key's TSS2 PRIVATE KEY file, or a reference file for a persistent key. */
static int write_private(dp_ctx *ctx, BIO *mem, const dp_key *key, bool der)
{
    if (!key->tpm) {
        dp_raise(ctx, DP_R_UNSUPPORTED, "not a TPM key");
        return 0;
    }
    if (!key->uid[0] && (devid_key_get_handle(key->tpm) >> 24) != 0x81) {
        dp_raise(ctx, DP_R_UNSUPPORTED,
                 "this TPM key was loaded from a key file: use that file (it is what loads it)");
        return 0;
    }
    if (!key->uid[0]) {
        if (der) {
            dp_raise(ctx, DP_R_UNSUPPORTED, "a persistent key has no DER form: use PEM");
            return 0;
        }
        return BIO_printf(mem,
                          "# devid key reference: the private key stays in the TPM\n"
                          "devid:handle=0x%08x\n",
                          devid_key_get_handle(key->tpm)) > 0;
    }
    char path[4096];
    devid_rc rc = devid_store_key_path(key->uid, path, sizeof(path));
    if (rc != DEVID_OK) {
        dp_raise_rc(ctx, rc, "locating the key file");
        return 0;
    }
    BIO *in = BIO_new_file(path, "r");
    int ok = in != NULL;
    if (ok && der) {
        char *name = NULL, *header = NULL;
        unsigned char *data = NULL;
        long len = 0;
        ok = PEM_read_bio(in, &name, &header, &data, &len) == 1 &&
             BIO_write(mem, data, (int)len) == (int)len;
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
    } else if (ok) {
        char buf[4096];
        int n;
        while ((n = BIO_read(in, buf, sizeof(buf))) > 0)
            if (BIO_write(mem, buf, n) != n)
                ok = 0;
    }
    BIO_free(in);
    if (!ok)
        dp_raise(ctx, DP_R_IO, "reading key file %s", path);
    return ok;
}

static int encode(void *vctx, OSSL_CORE_BIO *out, const void *obj, int selection,
                  enum enc_kind kind, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    enc_ctx *e = vctx;
    dp_ctx *ctx = e->ctx;
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
        case ENC_PRIV_PEM:
        case ENC_PRIV_DER:
            ok = key->tpm
                     ? write_private(ctx, mem, key, kind == ENC_PRIV_DER)
                     : write_soft_private(e, mem, key, selection, kind == ENC_PRIV_DER, cb, cbarg);
            if (!ok) {
                BIO_free(mem);
                return 0; /* raised; other encoders may take the key */
            }
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
                           const OSSL_PARAM abstract[], int selection, OSSL_PASSPHRASE_CALLBACK *cb,
                           void *cbarg)
{
    (void)abstract;
    return encode(ctx, out, obj, selection, ENC_SPKI_DER, cb, cbarg);
}

static int spki_pem_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                           const OSSL_PARAM abstract[], int selection, OSSL_PASSPHRASE_CALLBACK *cb,
                           void *cbarg)
{
    (void)abstract;
    return encode(ctx, out, obj, selection, ENC_SPKI_PEM, cb, cbarg);
}

static int text_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj, const OSSL_PARAM abstract[],
                       int selection, OSSL_PASSPHRASE_CALLBACK *cb, void *cbarg)
{
    (void)abstract;
    return encode(ctx, out, obj, selection, ENC_TEXT, cb, cbarg);
}

static int priv_pem_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                           const OSSL_PARAM abstract[], int selection, OSSL_PASSPHRASE_CALLBACK *cb,
                           void *cbarg)
{
    (void)abstract;
    return encode(ctx, out, obj, selection, ENC_PRIV_PEM, cb, cbarg);
}

static int priv_der_encode(void *ctx, OSSL_CORE_BIO *out, const void *obj,
                           const OSSL_PARAM abstract[], int selection, OSSL_PASSPHRASE_CALLBACK *cb,
                           void *cbarg)
{
    (void)abstract;
    return encode(ctx, out, obj, selection, ENC_PRIV_DER, cb, cbarg);
}

#define ENCODER(name, does, fn)                                                                    \
    const OSSL_DISPATCH name[] = {                                                                 \
        { OSSL_FUNC_ENCODER_NEWCTX, (void (*)(void))enc_newctx },                                  \
        { OSSL_FUNC_ENCODER_FREECTX, (void (*)(void))enc_freectx },                                \
        { OSSL_FUNC_ENCODER_DOES_SELECTION, (void (*)(void))does },                                \
        { OSSL_FUNC_ENCODER_ENCODE, (void (*)(void))fn },                                          \
        { OSSL_FUNC_ENCODER_SETTABLE_CTX_PARAMS, (void (*)(void))enc_settable_ctx_params },        \
        { OSSL_FUNC_ENCODER_SET_CTX_PARAMS, (void (*)(void))enc_set_ctx_params },                  \
        { 0, NULL },                                                                               \
    }

ENCODER(dp_spki_der_ec_encoder_functions, spki_does_selection, spki_der_encode);
ENCODER(dp_spki_der_rsa_encoder_functions, spki_does_selection, spki_der_encode);
ENCODER(dp_spki_pem_ec_encoder_functions, spki_does_selection, spki_pem_encode);
ENCODER(dp_spki_pem_rsa_encoder_functions, spki_does_selection, spki_pem_encode);
ENCODER(dp_text_ec_encoder_functions, text_does_selection, text_encode);
ENCODER(dp_text_rsa_encoder_functions, text_does_selection, text_encode);
ENCODER(dp_priv_pem_ec_encoder_functions, priv_does_selection, priv_pem_encode);
ENCODER(dp_priv_pem_rsa_encoder_functions, priv_does_selection, priv_pem_encode);
ENCODER(dp_priv_der_ec_encoder_functions, priv_does_selection, priv_der_encode);
ENCODER(dp_priv_der_rsa_encoder_functions, priv_does_selection, priv_der_encode);
