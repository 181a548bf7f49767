/* SPDX-License-Identifier: Apache-2.0 */
#include "token.h"
#include "core.h"
#include "fsutil.h"
#include "key_internal.h"
#include "keygen.h"
#include "log.h"
#include "session.h"
#include "store.h"
#include "tpm.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECRET_LEN 32

static pthread_mutex_t token_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    unsigned char secret[SECRET_LEN]; /* T, while somebody is logged in */
    bool have_secret;
    bool logged_in[2];
} token;

static const char *const seal_names[2] = { "token-user.seal", "token-so.seal" };

static devid_rc seal_path(devid_role role, char *path, size_t len)
{
    const devid_config *cfg = devid_core_config();
    if (!cfg)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    snprintf(path, len, "%s/%s", cfg->store, seal_names[role]);
    return DEVID_OK;
}

/* Fail closed: a seal that cannot be looked at (the store unreadable to this user) counts as
 * set, so the token keeps requiring a login and private objects stay behind it. Only "not
 * there" means no PIN. Said once per process, at warn. */
static bool seal_exists(devid_role role)
{
    char path[4096];
    if (seal_path(role, path, sizeof(path)) != DEVID_OK)
        return true;
    struct stat st;
    if (stat(path, &st) == 0)
        return true;
    int err = errno;
    if (err == ENOENT)
        return false;
    static atomic_bool warned;
    if (!atomic_exchange(&warned, true))
        devid_warn("cannot tell whether PINs are set (%s: %s): assuming they are, so the token "
                   "requires a login; give this user read access to the store (its group)",
                   path, strerror(err));
    return true;
}

static void forget_secret_locked(void)
{
    OPENSSL_cleanse(token.secret, sizeof(token.secret));
    token.have_secret = false;
    token.logged_in[0] = token.logged_in[1] = false;
}

/* Seals T under `pin` (a DA-protected keyed-hash object) and writes it for `role`. */
static devid_rc write_seal_locked(devid_role role, const void *pin, size_t pin_len)
{
    TPM2B_PUBLIC tmpl = {
        .publicArea = {
            .type = TPM2_ALG_KEYEDHASH,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                TPMA_OBJECT_USERWITHAUTH,
            .parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
        },
    };
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    if (pin_len == 0 || pin_len > sizeof(sensitive.sensitive.userAuth.buffer))
        return devid_fail(DEVID_ERR_ARG, "PIN must be 1 to %zu bytes",
                          sizeof(sensitive.sensitive.userAuth.buffer));
    memcpy(sensitive.sensitive.userAuth.buffer, pin, pin_len);
    sensitive.sensitive.userAuth.size = (UINT16)pin_len;
    memcpy(sensitive.sensitive.data.buffer, token.secret, SECRET_LEN);
    sensitive.sensitive.data.size = SECRET_LEN;

    devid_tss2_key blob;
    devid_rc rc = devid_tpm_create(&tmpl, &sensitive, &blob);
    OPENSSL_cleanse(&sensitive, sizeof(sensitive));
    char *pem = NULL, path[4096];
    size_t len = 0;
    if (rc == DEVID_OK)
        rc = devid_tss2_encode_pem(&blob, &pem, &len);
    if (rc == DEVID_OK)
        rc = seal_path(role, path, sizeof(path));
    if (rc == DEVID_OK)
        rc = devid_store_ensure_dir();
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, pem, len, devid_store_file_mode(true));
    OPENSSL_free(pem);
    return rc;
}

typedef struct unseal_req {
    const devid_tss2_key *blob;
    const void *pin;
    size_t pin_len;
    TPM2B_SENSITIVE_DATA *out;
    bool lost; /* a TPM2_Unseal went out and its answer was lost with the connection */
} unseal_req;

/* One attempt (devid_tpm_run retries it when the TPM is busy: a command the TPM did not start
 * counts no failed authorisation). A PIN check whose answer was lost with the connection is
 * not sent again on the new one: the TPM may have counted it, and a wrong PIN sent twice
 * would count twice against the dictionary-attack lockout. */
static devid_rc unseal_op(ESYS_CONTEXT *ctx, void *arg)
{
    unseal_req *req = arg;
    if (req->lost)
        return devid_fail(DEVID_ERR_NO_TPM, "the connection to the TPM was lost while it "
                                            "checked the PIN; not sent again: log in again");
    ESYS_TR obj = ESYS_TR_NONE, session = ESYS_TR_NONE;
    /* TPM2_Unseal: no parameters in, the secret out (sized): encrypt the response. The session
     * is started before the seal is loaded: starting it reads a persistent salt key (the EK),
     * which takes an object slot for the moment. With the SRK, an open key and the seal loaded,
     * a TPM with three slots (swtpm) has none left for it, and flushing the seal would not help
     * on the next try. Without the seal loaded, one of our keys can be evicted if need be. */
    devid_cmd_shape shape = { .carries_secret = true, .first_out_sized = true };
    devid_rc rc;
    for (int evictions = 0;; evictions++) {
        rc = devid_session_for(ctx, shape, &session);
        if (rc != DEVID_ERR_RETRY || !DEVID_TPM_OBJECT_MEMORY(devid_tpm_last_rc()) ||
            evictions >= 8 || !devid_keys_evict_one(ctx))
            break;
    }
    if (rc == DEVID_OK)
        rc = devid_tpm_load_blob(ctx, req->blob, NULL, &obj);
    if (rc == DEVID_OK) {
        TPM2B_AUTH auth = { .size = (UINT16)req->pin_len };
        memcpy(auth.buffer, req->pin, req->pin_len);
        rc = devid_tpm_result_locked(Esys_TR_SetAuth(ctx, obj, &auth), "setting the PIN");
        OPENSSL_cleanse(&auth, sizeof(auth));
    }
    if (rc == DEVID_OK) {
        /* Sent and answered in two steps, as Esys_Unseal does, to tell a command that never
         * left (the send failed: safe to send again) from one whose answer was lost. */
        bool sent = false;
        TSS2_RC r = DEVID_ESYS_RAW(Esys_Unseal_Async, ctx, obj, session, ESYS_TR_NONE,
                                   ESYS_TR_NONE);
        if (r == TSS2_RC_SUCCESS) {
            sent = true;
            do /* TRY_AGAIN: ESAPI resubmitted after TPM_RC_RETRY/TESTING/YIELDED */
                r = DEVID_ESYS_FINISH(Esys_Unseal_Finish, ctx, &req->out);
            while (r == TSS2_ESYS_RC_TRY_AGAIN);
        }
        rc = devid_tpm_result_locked(r, "checking the PIN (TPM2_Unseal)");
        /* lost in transport (the TCTI layer), not refused by the TPM */
        req->lost = sent && rc == DEVID_ERR_NO_TPM &&
                    (r & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER;
    }
    if (devid_tpm_alive(ctx) && obj != ESYS_TR_NONE)
        DEVID_ESYS_RAW(Esys_FlushContext, ctx, obj);
    return rc;
}

/* Loads role's seal and unseals T with `pin`. Lock taken here. */
static devid_rc unseal(devid_role role, const void *pin, size_t pin_len, unsigned char *secret)
{
    char path[4096];
    unsigned char *pem = NULL;
    size_t len = 0;
    devid_tss2_key blob;
    devid_rc rc = seal_path(role, path, sizeof(path));
    if (rc == DEVID_OK)
        rc = devid_read_file(path, 64 * 1024, &pem, &len);
    if (rc == DEVID_ERR_NOT_FOUND)
        return devid_fail(rc, "no %s PIN is set", role == DEVID_ROLE_SO ? "SO" : "user");
    if (rc == DEVID_OK)
        rc = devid_tss2_decode(pem, len, &blob);
    free(pem);
    if (rc != DEVID_OK)
        return rc;
    if (pin_len > sizeof(((TPM2B_AUTH *)0)->buffer))
        return devid_fail(DEVID_ERR_AUTH, "PIN too long");

    unseal_req req = { .blob = &blob, .pin = pin, .pin_len = pin_len };
    rc = devid_tpm_run(unseal_op, &req);
    TPM2B_SENSITIVE_DATA *out = req.out;
    if (rc == DEVID_OK && out->size != SECRET_LEN)
        rc = devid_fail(DEVID_ERR_FORMAT, "%s holds a secret of the wrong size", path);
    if (rc == DEVID_OK)
        memcpy(secret, out->buffer, SECRET_LEN);
    if (out) {
        OPENSSL_cleanse(out, sizeof(*out));
        Esys_Free(out);
    }
    if (rc == DEVID_ERR_AUTH)
        devid_fail(rc, "incorrect %s PIN", role == DEVID_ROLE_SO ? "SO" : "user");
    return rc;
}

devid_rc devid_token_state_get(devid_token_state *st)
{
    pthread_mutex_lock(&token_mutex);
    st->so_pin_set = seal_exists(DEVID_ROLE_SO);
    st->user_pin_set = seal_exists(DEVID_ROLE_USER);
    st->logged_in[0] = token.logged_in[0];
    st->logged_in[1] = token.logged_in[1];
    pthread_mutex_unlock(&token_mutex);
    return DEVID_OK;
}

devid_rc devid_token_login(devid_role role, const void *pin, size_t len)
{
    if ((unsigned)role > DEVID_ROLE_SO || (!pin && len))
        return devid_fail(DEVID_ERR_ARG, "bad login arguments");
    unsigned char secret[SECRET_LEN];
    pthread_mutex_lock(&token_mutex);
    devid_rc rc = unseal(role, pin, len, secret);
    if (rc == DEVID_OK) {
        memcpy(token.secret, secret, SECRET_LEN);
        token.have_secret = true;
        token.logged_in[role] = true;
    }
    pthread_mutex_unlock(&token_mutex);
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

void devid_token_logout(void)
{
    pthread_mutex_lock(&token_mutex);
    forget_secret_locked();
    pthread_mutex_unlock(&token_mutex);
}

devid_rc devid_token_init(const void *so_pin, size_t len)
{
    if (!so_pin || len == 0)
        return devid_fail(DEVID_ERR_ARG, "an SO PIN is required");
    pthread_mutex_lock(&token_mutex);
    unsigned char check[SECRET_LEN];
    devid_rc rc = DEVID_OK;
    if (seal_exists(DEVID_ROLE_SO))
        rc = unseal(DEVID_ROLE_SO, so_pin, len, check); /* re-initialisation: prove the SO */
    OPENSSL_cleanse(check, sizeof(check));
    char path[4096];
    if (rc == DEVID_OK)
        rc = devid_store_clear();
    if (rc == DEVID_OK && seal_path(DEVID_ROLE_USER, path, sizeof(path)) == DEVID_OK &&
        unlink(path) != 0 && errno != ENOENT)
        rc = devid_fail(DEVID_ERR_IO, "removing %s: %s", path, strerror(errno));
    if (rc == DEVID_OK && RAND_bytes(token.secret, SECRET_LEN) != 1)
        rc = devid_fail(DEVID_ERR_INTERNAL, "no randomness for the token secret");
    if (rc == DEVID_OK)
        rc = write_seal_locked(DEVID_ROLE_SO, so_pin, len);
    forget_secret_locked(); /* the SO logs in afterwards, as PKCS#11 sessions require */
    pthread_mutex_unlock(&token_mutex);
    if (rc == DEVID_OK)
        devid_info("token initialised: store cleared, SO PIN set");
    return rc;
}

devid_rc devid_token_set_pin(devid_role role, const void *pin, size_t len)
{
    if ((unsigned)role > DEVID_ROLE_SO || !pin)
        return devid_fail(DEVID_ERR_ARG, "bad PIN arguments");
    pthread_mutex_lock(&token_mutex);
    devid_rc rc = DEVID_OK;
    bool allowed = token.have_secret &&
                   (token.logged_in[DEVID_ROLE_SO] ||
                    (role == DEVID_ROLE_USER && token.logged_in[DEVID_ROLE_USER]));
    if (!allowed)
        rc = devid_fail(DEVID_ERR_AUTH, "setting the %s PIN needs a login",
                        role == DEVID_ROLE_SO ? "SO" : "user");
    else
        rc = write_seal_locked(role, pin, len);
    pthread_mutex_unlock(&token_mutex);
    return rc;
}

/* ---- the PIN source of front-ends without a PIN prompt (pin_file in devid.conf) ---- */

#define PIN_FILE_MAX 1024

/* Serialises configured logins (taken before token_mutex): two threads never both send a PIN. */
static pthread_mutex_t pin_source_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool use_configured_pin;
static bool have_refused;
static unsigned char refused_pin[32]; /* SHA-256 of the last PIN the TPM refused */

void devid_token_use_configured_pin(void)
{
    pthread_mutex_lock(&pin_source_mutex);
    use_configured_pin = true;
    pthread_mutex_unlock(&pin_source_mutex);
}

bool devid_token_configured_pin_in_use(void)
{
    pthread_mutex_lock(&pin_source_mutex);
    bool on = use_configured_pin;
    pthread_mutex_unlock(&pin_source_mutex);
    return on;
}

static bool need_login(void)
{
    pthread_mutex_lock(&token_mutex);
    bool need = !token.have_secret && (seal_exists(DEVID_ROLE_SO) || seal_exists(DEVID_ROLE_USER));
    pthread_mutex_unlock(&token_mutex);
    return need;
}

/* Reads the PIN file: its content without trailing line ends. The caller cleanses *pin. */
static devid_rc read_pin_file(const devid_config *cfg, unsigned char **pin, size_t *len)
{
    char what[8300];
    snprintf(what, sizeof(what), "pin_file %s (in %s)", cfg->pin_file, cfg->path);
    devid_rc rc = devid_read_secret_file(cfg->pin_file, what, PIN_FILE_MAX, pin, len);
    if (rc == DEVID_ERR_CONFIG) /* its mode or owner: the message names it */
        return rc;
    if (rc != DEVID_OK)
        return devid_fail(rc, "%s: %s", what, devid_last_error());
    while (*len && ((*pin)[*len - 1] == '\n' || (*pin)[*len - 1] == '\r'))
        (*pin)[--*len] = 0;
    if (*len == 0) {
        free(*pin);
        *pin = NULL;
        return devid_fail(DEVID_ERR_CONFIG, "pin_file %s (in %s) is empty", cfg->pin_file,
                          cfg->path);
    }
    return DEVID_OK;
}

/* Logs the user in with pin unless the TPM refused this same PIN before in this process
 * (*repeated then). Under pin_source_mutex. */
static devid_rc login_once_locked(const void *pin, size_t len, bool *repeated)
{
    unsigned char digest[32];
    devid_rc rc;
    *repeated = false;
    if (EVP_Digest(pin, len, digest, NULL, EVP_sha256(), NULL) != 1)
        return devid_fail(DEVID_ERR_INTERNAL, "hashing the PIN");
    if (have_refused && CRYPTO_memcmp(digest, refused_pin, sizeof(digest)) == 0) {
        *repeated = true;
        rc = devid_fail(DEVID_ERR_AUTH, "this user PIN was refused by the TPM before");
    } else {
        rc = devid_token_login(DEVID_ROLE_USER, pin, len);
        if (rc == DEVID_ERR_AUTH) {
            memcpy(refused_pin, digest, sizeof(digest));
            have_refused = true;
        }
    }
    OPENSSL_cleanse(digest, sizeof(digest));
    return rc;
}

devid_rc devid_token_login_once(const void *pin, size_t len)
{
    if (!pin || !len)
        return devid_fail(DEVID_ERR_ARG, "an empty PIN");
    pthread_mutex_lock(&pin_source_mutex);
    bool repeated;
    devid_rc rc = login_once_locked(pin, len, &repeated);
    if (rc == DEVID_ERR_AUTH)
        devid_fail(rc, repeated ? "this user PIN was refused by the TPM before and is not sent "
                                  "again by this process"
                                : "incorrect user PIN; not sent again by this process");
    pthread_mutex_unlock(&pin_source_mutex);
    return rc;
}

static devid_rc login_with_file(const devid_config *cfg)
{
    unsigned char *pin = NULL;
    size_t len = 0;
    bool repeated;
    devid_rc rc = read_pin_file(cfg, &pin, &len);
    if (rc != DEVID_OK)
        return rc;
    rc = login_once_locked(pin, len, &repeated);
    if (rc == DEVID_ERR_AUTH && repeated)
        devid_fail(rc,
                   "the user PIN in pin_file %s (in %s) was refused by the TPM and is not "
                   "sent again: correct the file",
                   cfg->pin_file, cfg->path);
    else if (rc == DEVID_ERR_AUTH)
        devid_fail(rc,
                   "incorrect user PIN in pin_file %s (in %s); not sent again (each wrong "
                   "try counts toward the TPM's dictionary-attack lockout): correct the file",
                   cfg->pin_file, cfg->path);
    else if (rc == DEVID_ERR_NOT_FOUND)
        rc = devid_fail(DEVID_ERR_AUTH,
                        "the SO PIN is set but no user PIN (pkcs11-tool "
                        "--init-pin) for pin_file %s (in %s)",
                        cfg->pin_file, cfg->path);
    OPENSSL_cleanse(pin, len);
    free(pin);
    return rc;
}

devid_rc devid_token_login_configured(void)
{
    const devid_config *cfg = devid_core_config();
    if (!cfg)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    pthread_mutex_lock(&pin_source_mutex);
    devid_rc rc = DEVID_OK;
    if (!need_login())
        rc = DEVID_OK;
    else if (!cfg->pin_file)
        rc = devid_fail(DEVID_ERR_AUTH,
                        "PINs are set and no PIN source is configured: set "
                        "pin_file in %s",
                        cfg->path);
    else
        rc = login_with_file(cfg);
    pthread_mutex_unlock(&pin_source_mutex);
    return rc;
}

devid_rc devid_token_key_auth(unsigned char auth[32], size_t *len)
{
    *len = 0;
    if (devid_token_configured_pin_in_use()) {
        devid_rc rc = devid_token_login_configured();
        if (rc != DEVID_OK)
            return rc;
    }
    return devid_token_current_auth(auth, len);
}

devid_rc devid_token_current_auth(unsigned char auth[32], size_t *len)
{
    *len = 0;
    pthread_mutex_lock(&token_mutex);
    devid_rc rc = DEVID_OK;
    if (token.have_secret) {
        memcpy(auth, token.secret, SECRET_LEN);
        *len = SECRET_LEN;
    } else if (seal_exists(DEVID_ROLE_SO) || seal_exists(DEVID_ROLE_USER)) {
        rc = devid_fail(DEVID_ERR_AUTH, "PINs are set: log in first");
    }
    pthread_mutex_unlock(&token_mutex);
    return rc;
}
