/* SPDX-License-Identifier: Apache-2.0 */
#include "key_internal.h"
#include "core.h"
#include "log.h"
#include "tpm.h"
#include "tpm_pub.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <tss2/tss2_mu.h>

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

/* The public area ESAPI already read when it resolved the persistent handle
 * (Esys_TR_FromTPMPublic), from the ESYS_TR's serialised form: TPM handle, name, resource type
 * (1 = key) and the TPM2B_PUBLIC. ESAPI keeps that format stable (Esys_TR_Deserialize reads
 * older output), and anything unexpected falls back to a TPM2_ReadPublic: opening a persistent
 * key then costs one ReadPublic instead of two. */
static bool tr_public(ESYS_CONTEXT *ctx, devid_key *key)
{
    uint8_t *buf = NULL;
    size_t len = 0, off = 0;
    if (Esys_TR_Serialize(ctx, key->tr, &buf, &len) != TSS2_RC_SUCCESS)
        return false;
    TPM2_HANDLE handle = 0;
    TPM2B_NAME name;
    UINT32 type = 0;
    TPM2B_PUBLIC pub;
    memset(&pub, 0, sizeof(pub));
    bool ok = Tss2_MU_TPM2_HANDLE_Unmarshal(buf, len, &off, &handle) == TSS2_RC_SUCCESS &&
              handle == key->handle &&
              Tss2_MU_TPM2B_NAME_Unmarshal(buf, len, &off, &name) == TSS2_RC_SUCCESS &&
              name.size <= sizeof(name.name) &&
              Tss2_MU_UINT32_Unmarshal(buf, len, &off, &type) == TSS2_RC_SUCCESS && type == 1 &&
              Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) == TSS2_RC_SUCCESS &&
              pub.size > 0 && off == len;
    Esys_Free(buf);
    if (ok) {
        key->pub = pub.publicArea;
        key->name = name;
    }
    return ok;
}

static devid_rc read_public(ESYS_CONTEXT *ctx, devid_key *key)
{
    if (tr_public(ctx, key))
        return DEVID_OK;
    TPM2B_PUBLIC *pub = NULL;
    TPM2B_NAME *name = NULL;
    devid_rc drc = DEVID_ESYS("reading the key's public area", Esys_ReadPublic, ctx, key->tr,
                              ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, &name, NULL);
    if (drc != DEVID_OK)
        return drc;
    key->pub = pub->publicArea;
    key->name = *name;
    Esys_Free(pub);
    Esys_Free(name);
    return DEVID_OK;
}

static devid_rc describe(devid_key *key)
{
    if (key->pub.type == TPM2_ALG_KEYEDHASH) {
        /* a secret key: no public part; HMAC-SHA256 with the sign attribute only */
        const TPMT_KEYEDHASH_SCHEME *s = &key->pub.parameters.keyedHashDetail.scheme;
        if (s->scheme != TPM2_ALG_HMAC || s->details.hmac.hashAlg != TPM2_ALG_SHA256 ||
            !(key->pub.objectAttributes & TPMA_OBJECT_SIGN_ENCRYPT) ||
            (key->pub.objectAttributes & TPMA_OBJECT_DECRYPT))
            return devid_fail(DEVID_ERR_UNSUPPORTED,
                              "keyed-hash object: only HMAC-SHA256 signing keys are supported");
        key->flags = flags_from_attrs(key->pub.objectAttributes);
        key->type = DEVID_KEY_HMAC;
        key->bits = 8 * DEVID_HMAC_SIZE;
        key->size = DEVID_HMAC_SIZE;
        return DEVID_OK;
    }
    /* Checked here, converted to OpenSSL's form only when someone asks for it. */
    key->flags = flags_from_attrs(key->pub.objectAttributes);
    if (key->pub.type == TPM2_ALG_ECC) {
        TPMI_ECC_CURVE curve = key->pub.parameters.eccDetail.curveID;
        key->type = DEVID_KEY_EC;
        key->size = devid_tpm_curve_order_len(curve);
        key->bits = devid_tpm_curve_bits(curve);
        if (!key->size)
            return devid_fail(DEVID_ERR_UNSUPPORTED, "TPM key on unsupported curve 0x%04x", curve);
        if (key->pub.unique.ecc.x.size > key->size || key->pub.unique.ecc.y.size > key->size)
            return devid_fail(DEVID_ERR_FORMAT, "TPM ECC point larger than its curve");
    } else if (key->pub.type == TPM2_ALG_RSA) {
        key->bits = key->pub.parameters.rsaDetail.keyBits;
        key->type = DEVID_KEY_RSA;
        key->size = key->pub.unique.rsa.size;
    } else {
        return devid_fail(DEVID_ERR_UNSUPPORTED, "TPM key of type 0x%04x is neither ECC nor RSA",
                          key->pub.type);
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
    /* Even reading a persistent key's public area takes an object slot: with the slots full
     * of loaded store keys (and a transient SRK), make room as a command would. */
    for (int evictions = 0;; evictions++) {
        rc = devid_key_bind(ctx, key);
        if (rc == DEVID_OK)
            rc = read_public(ctx, key);
        if (rc != DEVID_ERR_RETRY || !DEVID_TPM_OBJECT_MEMORY(devid_tpm_last_rc()) ||
            evictions >= 8 || !devid_keys_evict_one(ctx))
            break;
    }
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
    ESYS_CONTEXT *ctx;
    devid_tpm_lock_noconnect(&ctx);
    devid_key_release_locked(ctx, key);
    devid_tpm_unlock();
    EVP_PKEY_free(key->pkey);
    OPENSSL_cleanse(&key->auth, sizeof(key->auth));
    free(key);
}

devid_rc devid_key_load_tss2(const unsigned char *data, size_t len, devid_key **out)
{
    devid_key *key = calloc(1, sizeof(*key));
    if (!key)
        return devid_fail(DEVID_ERR_MEMORY, "key allocation");
    devid_rc rc = devid_tss2_decode(data, len, &key->blob);
    if (rc != DEVID_OK) {
        free(key);
        return rc;
    }
    key->loadable = true;
    key->tr = ESYS_TR_NONE;
    key->pub = key->blob.pub.publicArea;
    rc = describe(key);
    if (rc == DEVID_OK) {
        /* Load now, so a key that does not belong to this TPM fails here, not at first use. */
        ESYS_CONTEXT *ctx;
        rc = devid_tpm_lock(&ctx);
        if (rc == DEVID_OK) {
            devid_key_opened_locked(key);
            rc = devid_key_bind(ctx, key);
            devid_tpm_unlock();
        }
    }
    if (rc != DEVID_OK) {
        devid_key_free(key);
        return rc;
    }
    *out = key;
    return DEVID_OK;
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

bool devid_key_needs_auth(const devid_key *key)
{
    return key->loadable && !key->blob.empty_auth;
}
bool devid_key_token_bound(const devid_key *key)
{
    return key->token_bound;
}

bool devid_key_takes_pin_as_auth(const devid_key *key)
{
    if (key->loadable)
        return !key->blob.empty_auth && !key->token_bound;
    const devid_config *cfg = devid_core_config();
    for (int i = 0; cfg && i < DEVID_MAP_COUNT; i++)
        if (cfg->map[i].key_handle == key->handle)
            return false;
    return true;
}
void devid__key_mark_token_bound(devid_key *key)
{
    key->token_bound = true;
}
devid_key_type devid_key_get_type(const devid_key *key)
{
    return key->type;
}
unsigned devid_key_get_flags(const devid_key *key)
{
    return key->flags;
}
uint32_t devid_key_get_handle(const devid_key *key)
{
    return key->handle;
}
int devid_key_get_bits(const devid_key *key)
{
    return key->bits;
}
/* Built on first use under its own lock: keys are shared between threads (the provider). */
static pthread_mutex_t pkey_mutex = PTHREAD_MUTEX_INITIALIZER;

EVP_PKEY *devid_key_get_public(const devid_key *key)
{
    if (key->type != DEVID_KEY_EC && key->type != DEVID_KEY_RSA)
        return NULL;
    pthread_mutex_lock(&pkey_mutex);
    devid_key *k = (devid_key *)key; /* a cache: the key's value does not change */
    if (!k->pkey && devid_tpm_public_to_evp(&k->pub, &k->pkey) != DEVID_OK)
        devid_warn("key 0x%08x: %s", k->handle, devid_last_error());
    EVP_PKEY *pkey = k->pkey;
    pthread_mutex_unlock(&pkey_mutex);
    return pkey;
}

devid_rc devid_key_get_name(const devid_key *key, const unsigned char **name, size_t *len)
{
    if (!key->name.size)
        return devid_fail(DEVID_ERR_NOT_FOUND, "the key's TPM name is not known");
    *name = key->name.name;
    *len = key->name.size;
    return DEVID_OK;
}

size_t devid_key_sig_size(const devid_key *key)
{
    return key->type == DEVID_KEY_EC ? 2 * key->size : key->size; /* HMAC: 32 */
}

devid_rc devid_pubkey_id(EVP_PKEY *pub, unsigned char id[20])
{
    /* An EC key's subjectPublicKey is its point, in the form the key holds it: read as it is
     * (the SubjectPublicKeyInfo route below walks OpenSSL 3.0's encoders of every provider and
     * decodes the result back, ~1 ms of CPU per key made in the store). */
    unsigned char point[1 + 2 * 66]; /* uncompressed P-521 at most */
    size_t n = 0;
    if (EVP_PKEY_is_a(pub, "EC") &&
        EVP_PKEY_get_octet_string_param(pub, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &n) ==
            1 &&
        n > 0)
        return EVP_Digest(point, n, id, NULL, EVP_sha1(), NULL) == 1
                   ? DEVID_OK
                   : devid_fail(DEVID_ERR_FORMAT, "cannot hash the public key");
    ERR_clear_error();
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

devid_rc devid_key_run(devid_key *key, devid_cmd_shape shape, devid_key_op op, void *arg)
{
    devid_rc rc;
    unsigned retries = 0;
    int evictions = 0;
    /* A command with a password the TPM counts (dictionary-attack protected) is not sent again
     * when its answer may have been lost with the connection: a wrong password would count
     * twice against the lockout. */
    bool replay_safe = key->auth.size == 0 || (key->pub.objectAttributes & TPMA_OBJECT_NODA);
    for (int attempt = 0;; attempt++) {
        ESYS_CONTEXT *ctx;
        rc = devid_tpm_lock(&ctx);
        if (rc != DEVID_OK)
            return rc; /* cannot (re)connect: the TPM really is gone */
        ESYS_TR session;
        bool op_ran = false;
        rc = devid_key_bind(ctx, key);
        if (rc == DEVID_OK)
            rc = devid_session_for(ctx, shape, &session);
        if (rc == DEVID_OK) {
            op_ran = true;
            rc = op(ctx, key, session, arg);
        }
        /* Even a persistent key needs an object slot while it is used: make room. */
        bool made_room = rc == DEVID_ERR_RETRY && DEVID_TPM_OBJECT_MEMORY(devid_tpm_last_rc()) &&
                         evictions < 8 && devid_keys_evict_one_but(ctx, key);
        devid_tpm_unlock();
        if (made_room) {
            evictions++;
            continue;
        }
        if (rc == DEVID_ERR_NO_TPM && attempt == 0) {
            if (replay_safe || !op_ran ||
                (devid_tpm_last_rc() & TSS2_RC_LAYER_MASK) != TSS2_TCTI_RC_LAYER)
                continue; /* stale connection: one more try on a new one */
            return devid_fail(rc, "the connection to the TPM was lost during an operation with "
                                  "the key's password; not sent again: try again");
        }
        if (devid_tpm_retry_wait(rc, &retries))
            continue;
        return rc;
    }
}
