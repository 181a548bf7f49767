/* SPDX-License-Identifier: Apache-2.0 */
/* HMAC-SHA256 with TPM-resident keyed-hash keys (DEVID_KEY_HMAC). The key never leaves the
 * TPM: short data takes one TPM2_HMAC; longer data an HMAC sequence, started, fed and finished
 * under one hold of the TPM lock and flushed if anything fails half-way. */
#include "key_internal.h"
#include "log.h"
#include "store.h"
#include "session.h"
#include "tpm.h"

#include "tpm_pub.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#define CHUNK sizeof(((TPM2B_MAX_BUFFER *)0)->buffer)

typedef struct {
    const unsigned char *data;
    size_t len;
    unsigned char *mac;
} hmac_req;

/* The end of an HMAC command (rc): the MAC copied out of the TPM's answer d, which is
 * cleansed and freed either way. */
static devid_rc take_mac(devid_rc rc, TPM2B_DIGEST *d, unsigned char *mac)
{
    if (rc == DEVID_OK && d->size != DEVID_HMAC_SIZE)
        rc = devid_fail(DEVID_ERR_TPM, "TPM returned a %u-byte HMAC-SHA256", d->size);
    else if (rc == DEVID_OK)
        memcpy(mac, d->buffer, DEVID_HMAC_SIZE);
    if (d)
        OPENSSL_cleanse(d, sizeof(*d));
    Esys_Free(d);
    return rc;
}

static devid_rc oneshot_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    hmac_req *req = arg;
    TPM2B_MAX_BUFFER buf = { .size = (UINT16)req->len };
    if (req->len)
        memcpy(buf.buffer, req->data, req->len);
    TPM2B_DIGEST *out = NULL;
    devid_rc rc = DEVID_ESYS("TPM2_HMAC", Esys_HMAC, ctx, key->tr, session, ESYS_TR_NONE,
                             ESYS_TR_NONE, &buf, TPM2_ALG_SHA256, &out);
    rc = take_mac(rc, out, req->mac);
    OPENSSL_cleanse(&buf, sizeof(buf));
    return rc;
}

/* The sequence object has an empty auth value: its updates need only a password session. */
static devid_rc sequence_op(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg)
{
    hmac_req *req = arg;
    TPM2B_AUTH seq_auth = { 0 };
    ESYS_TR seq = ESYS_TR_NONE;
    devid_rc rc = DEVID_ESYS("TPM2_HMAC_Start", Esys_HMAC_Start, ctx, key->tr, session,
                             ESYS_TR_NONE, ESYS_TR_NONE, &seq_auth, TPM2_ALG_SHA256, &seq);
    if (rc != DEVID_OK)
        return rc;
    Esys_TR_SetAuth(ctx, seq, &seq_auth);
    TPM2B_MAX_BUFFER buf;
    size_t off = 0;
    /* every full chunk but the last goes by update; the rest with the completion */
    while (rc == DEVID_OK && req->len - off > CHUNK) {
        buf.size = (UINT16)CHUNK;
        memcpy(buf.buffer, req->data + off, CHUNK);
        off += CHUNK;
        rc = DEVID_ESYS("TPM2_SequenceUpdate", Esys_SequenceUpdate, ctx, seq, ESYS_TR_PASSWORD,
                        ESYS_TR_NONE, ESYS_TR_NONE, &buf);
    }
    if (rc != DEVID_OK) {
        if (devid_tpm_alive(ctx))
            DEVID_ESYS_RAW(Esys_FlushContext, ctx, seq);
        OPENSSL_cleanse(&buf, sizeof(buf));
        return rc;
    }
    buf.size = (UINT16)(req->len - off);
    memcpy(buf.buffer, req->data + off, buf.size);
    TPM2B_DIGEST *out = NULL;
    TPMT_TK_HASHCHECK *ticket = NULL;
    rc = DEVID_ESYS("TPM2_SequenceComplete", Esys_SequenceComplete, ctx, seq, ESYS_TR_PASSWORD,
                    ESYS_TR_NONE, ESYS_TR_NONE, &buf, ESYS_TR_RH_NULL, &out, &ticket);
    if (rc != DEVID_OK && devid_tpm_alive(ctx)) /* a failed completion leaves it loaded */
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, seq);
    rc = take_mac(rc, out, req->mac);
    Esys_Free(ticket);
    OPENSSL_cleanse(&buf, sizeof(buf));
    return rc;
}

devid_rc devid_key_hmac(devid_key *key, const unsigned char *data, size_t len,
                        unsigned char mac[DEVID_HMAC_SIZE])
{
    return devid_key_hmac_path(key, data, len, mac, len > DEVID_HMAC_ONESHOT_MAX || len > CHUNK);
}

devid_rc devid_key_hmac_path(devid_key *key, const unsigned char *data, size_t len,
                             unsigned char mac[DEVID_HMAC_SIZE], bool sequence)
{
    if (!key || !mac || (!data && len))
        return devid_fail(DEVID_ERR_ARG, "devid_key_hmac: NULL argument");
    if (key->type != DEVID_KEY_HMAC || !(key->flags & DEVID_KEY_CAN_SIGN))
        return devid_fail(DEVID_ERR_KEY_USAGE, "not an HMAC key");
    hmac_req req = { .data = data, .len = len, .mac = mac };
    bool secret = key->auth.size > 0;
    if (!sequence && len <= CHUNK) {
        /* TPM2_HMAC: buffer in (sized), HMAC out (sized) */
        devid_cmd_shape shape = { .carries_secret = secret,
                                  .first_in_sized = true,
                                  .first_out_sized = true };
        return devid_key_run(key, shape, oneshot_op, &req);
    }
    /* TPM2_HMAC_Start: the sequence's auth in (sized), a handle out */
    devid_cmd_shape shape = { .carries_secret = secret, .first_in_sized = true };
    return devid_key_run(key, shape, sequence_op, &req);
}

devid_rc devid_key_hmac_verify(devid_key *key, const unsigned char *data, size_t len,
                               const unsigned char *mac, size_t mac_len, bool *match)
{
    if (!match || (!mac && mac_len))
        return devid_fail(DEVID_ERR_ARG, "devid_key_hmac_verify: NULL argument");
    *match = false;
    unsigned char want[DEVID_HMAC_SIZE];
    devid_rc rc = devid_key_hmac(key, data, len, want);
    if (rc == DEVID_OK)
        *match = mac_len == DEVID_HMAC_SIZE && CRYPTO_memcmp(want, mac, DEVID_HMAC_SIZE) == 0;
    OPENSSL_cleanse(want, sizeof(want));
    return rc;
}

/* ---- importing a key value ----------------------------------------------------------------- */

/* The keygen parameters that import value (a key longer than the hash's block is hashed
 * first by HMAC itself: the TPM takes only a block, so it gets the hash, with the same MACs). */
static devid_rc import_params(const unsigned char *value, size_t len,
                              unsigned char hashed[DEVID_HMAC_SIZE], devid_keygen *gen)
{
    if (!value || len == 0 || len > DEVID_HMAC_IMPORT_MAX)
        return devid_fail(DEVID_ERR_ARG, "an HMAC key value of %zu bytes: 1 to %d are possible",
                          len, DEVID_HMAC_IMPORT_MAX);
    if (len > DEVID_HMAC_BLOCK_SIZE) {
        EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", DEVID_SW_PROPQ);
        bool ok = md && EVP_Digest(value, len, hashed, NULL, md, NULL) == 1;
        EVP_MD_free(md);
        if (!ok)
            return devid_fail(DEVID_ERR_INTERNAL, "hashing a long HMAC key");
    }
    /* TPM2_Create with the value as the keyed-hash object's sensitive data: the command
     * carries a secret, so the session policy sends it in a salted session with parameter
     * encryption (core/session.h); devid_keygen_create cleanses its copy. */
    *gen = (devid_keygen){ .type = DEVID_KEY_HMAC,
                           .sign = true,
                           .hmac_value = len > DEVID_HMAC_BLOCK_SIZE ? hashed : value,
                           .hmac_value_len = len > DEVID_HMAC_BLOCK_SIZE ? DEVID_HMAC_SIZE : len };
    return DEVID_OK;
}

devid_rc devid_store_import_hmac(const unsigned char *value, size_t len,
                                 const devid_store_attrs *attrs, char uid[DEVID_UID_LEN + 1])
{
    unsigned char hashed[DEVID_HMAC_SIZE];
    devid_keygen gen;
    devid_rc rc = import_params(value, len, hashed, &gen);
    devid_store_attrs a = *attrs;
    a.value_len = len;
    if (rc == DEVID_OK)
        rc = devid_store_generate(&gen, &a, uid);
    OPENSSL_cleanse(hashed, sizeof(hashed));
    if (rc == DEVID_OK)
        devid_info("imported an HMAC-SHA256 key (%zu bytes) as store object %s", len, uid);
    return rc;
}

devid_rc devid_hmac_import_unstored(const unsigned char *value, size_t len, devid_key **key)
{
    unsigned char hashed[DEVID_HMAC_SIZE];
    devid_keygen gen;
    devid_rc rc = import_params(value, len, hashed, &gen);
    if (rc == DEVID_OK)
        rc = devid_store_generate_unstored(&gen, key);
    OPENSSL_cleanse(hashed, sizeof(hashed));
    return rc;
}
