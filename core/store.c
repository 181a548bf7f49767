/* SPDX-License-Identifier: Apache-2.0 */
#include "store.h"
#include "access_hint.h"
#include "store_attrs.h"
#include "store_internal.h"
#include "cert.h"
#include "core.h"
#include "fsutil.h"
#include "keygen.h"
#include "log.h"
#include "token.h"
#include "tpm_pub.h"
#include "tss2_file.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_KEY_FILE (64 * 1024)
#define MAX_ATTR_FILE 4096

const char *store_dir(void)
{
    const devid_config *cfg = devid_core_config();
    return cfg ? cfg->store : NULL;
}

/* The configured modes (config.h: group-shared by default). */
static mode_t key_mode(void)
{
    return (mode_t)devid_core_config()->store_key_mode;
}

static mode_t cert_mode(void)
{
    return (mode_t)devid_core_config()->store_cert_mode;
}

devid_rc devid_store_ensure_dir(void)
{
    const devid_config *cfg = devid_core_config();
    if (!cfg)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    return devid_ensure_dir(cfg->store, (mode_t)cfg->store_dir_mode);
}

mode_t devid_store_file_mode(bool secret)
{
    return secret ? key_mode() : cert_mode();
}

bool store_valid_uid(const char *uid)
{
    if (!uid || strlen(uid) != DEVID_UID_LEN)
        return false;
    for (const char *p = uid; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            return false;
    return true;
}

devid_rc store_part_path(const char *uid, const char *ext, char *path, size_t len)
{
    const char *dir = store_dir();
    if (!dir)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    if (!store_valid_uid(uid))
        return devid_fail(DEVID_ERR_ARG, "invalid store object id");
    if ((size_t)snprintf(path, len, "%s/%s.%s", dir, uid, ext) >= len)
        return devid_fail(DEVID_ERR_ARG, "store path too long");
    return DEVID_OK;
}

devid_rc devid_store_key_path(const char *uid, char *path, size_t len)
{
    return store_part_path(uid, "key", path, len);
}

/* Reads <store>/<uid>.<ext> (at most max bytes), leaving its path for the caller's messages. */
static devid_rc read_part(const char *uid, const char *ext, size_t max, char *path, size_t path_len,
                          unsigned char **data, size_t *len)
{
    devid_rc rc = store_part_path(uid, ext, path, path_len);
    return rc == DEVID_OK ? devid_read_file(path, max, data, len) : rc;
}

devid_rc store_read_key_blob(const char *uid, devid_tss2_key *blob)
{
    char path[4096];
    unsigned char *pem = NULL;
    size_t len = 0;
    devid_rc rc = read_part(uid, "key", MAX_KEY_FILE, path, sizeof(path), &pem, &len);
    if (rc == DEVID_OK)
        rc = devid_tss2_decode(pem, len, blob);
    free(pem);
    return rc;
}

bool store_part_exists(const char *uid, const char *ext)
{
    char path[4096];
    return store_part_path(uid, ext, path, sizeof(path)) == DEVID_OK && access(path, F_OK) == 0;
}

/* Mutations hold an exclusive flock on <store>/.lock (readers rely on atomic renames). */
devid_rc store_lock(int *fd)
{
    const char *dir = store_dir();
    char path[4096];
    if (!dir)
        return devid_fail(DEVID_ERR_INTERNAL, "devid core not initialised");
    devid_rc rc = devid_store_ensure_dir();
    if (rc != DEVID_OK)
        return rc;
    snprintf(path, sizeof(path), "%s/.lock", dir);
    /* read-only is enough for flock, so every member of the store's group can lock it */
    *fd = devid__open_or_create(path, cert_mode());
    if (*fd < 0 && (errno == EACCES || errno == EPERM)) {
        int err = errno;
        char hint[1024] = "";
        devid_access_hint(path, false, hint, sizeof(hint)); /* which mode or group, the fix */
        return devid_fail(DEVID_ERR_IO, "store %s: %s: %s%s", dir, path, strerror(err),
                          hint[0] ? hint
                                  : " (the store is shared by its directory's group: this "
                                    "user must be in it)");
    }
    if (*fd < 0)
        return devid_fail(DEVID_ERR_IO, "store %s: %s", dir, strerror(errno));
    struct stat st;
    if (fstat(*fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 07777) != cert_mode())
        (void)fchmod(*fd, cert_mode()); /* ours, made by an older devid under another umask */
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(*fd);
            return devid_fail(DEVID_ERR_IO, "locking store %s: %s", dir, strerror(errno));
        }
    }
    store_finish_removals(); /* what a crashed group removal left */
    return DEVID_OK;
}

void store_unlock(int fd)
{
    flock(fd, LOCK_UN);
    close(fd);
}

static devid_rc new_uid(char uid[DEVID_UID_LEN + 1])
{
    unsigned char r[DEVID_UID_LEN / 2];
    if (RAND_bytes(r, sizeof(r)) != 1)
        return devid_fail(DEVID_ERR_INTERNAL, "no randomness for an object id");
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(uid + 2 * i, 3, "%02x", r[i]);
    return DEVID_OK;
}

devid_rc store_write_attrs(const char *uid, const devid_store_attrs *a)
{
    char path[4096], text[MAX_ATTR_FILE];
    devid_rc rc = store_part_path(uid, "attr", path, sizeof(path));
    if (rc == DEVID_OK)
        rc = store_attrs_encode(a, text, sizeof(text));
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, text, strlen(text), cert_mode());
    return rc;
}

devid_rc devid_store_get_attrs(const char *uid, devid_store_attrs *a)
{
    char path[4096];
    unsigned char *text = NULL;
    size_t len = 0;
    devid_rc rc = read_part(uid, "attr", MAX_ATTR_FILE, path, sizeof(path), &text, &len);
    if (rc == DEVID_OK) {
        rc = devid_store_parse_attrs((const char *)text, len, a);
        if (rc != DEVID_OK)
            rc = devid_fail(rc, "%s: %s", path, devid_last_error());
    }
    free(text);
    return rc;
}

/* A new group (its id in uid) of one part, <uid>.<ext>, and its attributes, under the store
 * lock: the part first, the attributes last, so that a listing only sees complete objects; a
 * part whose attributes cannot be written is removed (without them it is no object). */
static devid_rc create_group(const char *ext, const void *content, size_t len, mode_t mode,
                             const devid_store_attrs *attrs, char uid[DEVID_UID_LEN + 1])
{
    char path[4096];
    int lock = -1;
    devid_rc rc = new_uid(uid);
    if (rc == DEVID_OK)
        rc = store_lock(&lock);
    if (rc != DEVID_OK)
        return rc;
    rc = store_part_path(uid, ext, path, sizeof(path));
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, content, len, mode);
    if (rc == DEVID_OK) {
        rc = store_write_attrs(uid, attrs);
        if (rc != DEVID_OK)
            unlink(path);
    }
    store_unlock(lock);
    return rc;
}

/* ---- creating ---- */

/* CKA_ID from the new key's public area (no TPM command). */
static devid_rc key_id_of(const devid_tss2_key *blob, devid_store_attrs *a)
{
    EVP_PKEY *pub = NULL;
    devid_rc rc = devid_tpm_public_to_evp(&blob->pub.publicArea, &pub);
    if (rc == DEVID_OK)
        rc = devid_pubkey_id(pub, a->id);
    if (rc == DEVID_OK)
        a->id_len = 20;
    EVP_PKEY_free(pub);
    return rc;
}

devid_rc devid_store_generate(const devid_keygen *params, const devid_store_attrs *attrs,
                              char uid[DEVID_UID_LEN + 1])
{
    devid_tss2_key blob;
    devid_keygen p = *params;
    unsigned char secret[32];
    size_t secret_len = 0;
    devid_rc rc = DEVID_OK;
    devid_store_attrs a = *attrs;
    if (p.map_key && p.auth_len)
        return devid_fail(DEVID_ERR_ARG, "a DevID map key has no auth value");
    if (p.auth_len == 0 && !p.map_key) { /* the token secret while PINs are set (token.h) */
        rc = devid_token_key_auth(secret, &secret_len);
        p.auth = secret;
        p.auth_len = secret_len;
        p.auth_is_secret = secret_len > 0;
        a.token_bound = secret_len > 0;
    }
    if (rc == DEVID_OK)
        rc = devid_keygen_create(&p, &blob);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc != DEVID_OK)
        return rc;
    char *pem = NULL;
    size_t pemlen = 0;
    a.secret = params->type == DEVID_KEY_HMAC;
    if (!a.secret)
        a.value_len = 0;
    rc = params->id_from_key ? key_id_of(&blob, &a) : DEVID_OK;
    if (rc == DEVID_OK)
        rc = devid_tss2_encode_pem(&blob, &pem, &pemlen);
    if (rc == DEVID_OK)
        rc = create_group("key", pem, pemlen, key_mode(), &a, uid);
    OPENSSL_free(pem);
    OPENSSL_cleanse(&blob, sizeof(blob));
    if (rc == DEVID_OK)
        devid_info("generated store key %s", uid);
    return rc;
}

devid_rc devid_store_generate_unstored(const devid_keygen *params, devid_key **key)
{
    devid_tss2_key blob;
    devid_keygen p = *params;
    unsigned char secret[32];
    size_t secret_len = 0;
    devid_rc rc = DEVID_OK;
    if (p.auth_len == 0) { /* the token secret while PINs are set (token.h) */
        rc = devid_token_key_auth(secret, &secret_len);
        p.auth = secret;
        p.auth_len = secret_len;
        p.auth_is_secret = secret_len > 0;
    }
    char *pem = NULL;
    size_t pemlen = 0;
    if (rc == DEVID_OK)
        rc = devid_keygen_create(&p, &blob);
    if (rc == DEVID_OK)
        rc = devid_tss2_encode_pem(&blob, &pem, &pemlen);
    if (rc == DEVID_OK)
        rc = devid_key_load_tss2((const unsigned char *)pem, pemlen, key);
    if (rc == DEVID_OK && params->auth_len == 0 && secret_len) {
        devid__key_mark_token_bound(*key);
        rc = devid_key_set_auth(*key, secret, secret_len);
        if (rc != DEVID_OK) {
            devid_key_free(*key);
            *key = NULL;
        }
    } else if (rc == DEVID_OK && params->auth_len) {
        rc = devid_key_set_auth(*key, params->auth, params->auth_len);
    }
    if (pem)
        OPENSSL_cleanse(pem, pemlen);
    OPENSSL_free(pem);
    OPENSSL_cleanse(&blob, sizeof(blob));
    OPENSSL_cleanse(secret, sizeof(secret));
    return rc;
}

devid_rc devid_store_put_cert(const char *uid_or_null, X509 *cert, const devid_store_attrs *attrs,
                              char uid_out[DEVID_UID_LEN + 1])
{
    char uid[DEVID_UID_LEN + 1], path[4096];
    devid_rc rc = DEVID_OK;
    if (uid_or_null) {
        if (!store_valid_uid(uid_or_null))
            return devid_fail(DEVID_ERR_ARG, "invalid store object id");
        memcpy(uid, uid_or_null, sizeof(uid));
    } else if ((rc = new_uid(uid)) != DEVID_OK) {
        return rc;
    }
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL;
    long pemlen = 0;
    if (!bio || PEM_write_bio_X509(bio, cert) != 1 || (pemlen = BIO_get_mem_data(bio, &pem)) <= 0)
        rc = devid_fail(DEVID_ERR_FORMAT, "cannot encode the certificate");
    int lock = -1;
    if (rc == DEVID_OK)
        rc = store_lock(&lock);
    if (rc == DEVID_OK) {
        if (uid_or_null && !store_part_exists(uid, "attr"))
            rc = devid_fail(DEVID_ERR_NOT_FOUND, "no store object %s", uid);
        if (rc == DEVID_OK)
            rc = store_part_path(uid, "crt", path, sizeof(path));
        if (rc == DEVID_OK)
            rc = devid_write_file_atomic(path, pem, (size_t)pemlen, cert_mode());
        if (rc == DEVID_OK && attrs)
            rc = store_write_attrs(uid, attrs);
        store_unlock(lock);
    }
    BIO_free(bio);
    if (rc == DEVID_OK && uid_out)
        memcpy(uid_out, uid, sizeof(uid));
    return rc;
}

devid_rc devid_store_put_data(const unsigned char *value, size_t len,
                              const devid_store_attrs *attrs, char uid_out[DEVID_UID_LEN + 1])
{
    if (len > DEVID_DATA_MAX)
        return devid_fail(DEVID_ERR_ARG, "data object of %zu bytes: at most %d", len,
                          DEVID_DATA_MAX);
    char uid[DEVID_UID_LEN + 1];
    devid_rc rc = create_group("dat", value, len, attrs->data_private ? key_mode() : cert_mode(),
                               attrs, uid);
    if (rc == DEVID_OK && uid_out)
        memcpy(uid_out, uid, sizeof(uid));
    return rc;
}

/* ---- reading ---- */

devid_rc devid_store_read_data(const char *uid, unsigned char **value, size_t *len)
{
    char path[4096];
    return read_part(uid, "dat", DEVID_DATA_MAX, path, sizeof(path), value, len);
}

static bool same_tpm_key(const devid_tss2_key *a, const devid_tss2_key *b)
{
    return a->pub.size == b->pub.size && a->priv.size == b->priv.size &&
           memcmp(&a->pub.publicArea, &b->pub.publicArea, sizeof(a->pub.publicArea)) == 0 &&
           memcmp(a->priv.buffer, b->priv.buffer, a->priv.size) == 0;
}

devid_rc devid_store_find_key(const unsigned char *data, size_t len, char uid[DEVID_UID_LEN + 1])
{
    devid_tss2_key want, have;
    devid_rc rc = devid_tss2_decode(data, len, &want);
    devid_store_entry *e = NULL;
    size_t n = 0;
    if (rc == DEVID_OK)
        rc = devid_store_list(&e, &n);
    if (rc != DEVID_OK)
        return rc;
    rc = DEVID_ERR_NOT_FOUND;
    for (size_t i = 0; i < n && rc == DEVID_ERR_NOT_FOUND; i++) {
        if (e[i].has_key && store_read_key_blob(e[i].uid, &have) == DEVID_OK &&
            same_tpm_key(&want, &have)) {
            memcpy(uid, e[i].uid, DEVID_UID_LEN + 1);
            rc = DEVID_OK;
        }
    }
    free(e);
    devid_clear_error();
    return rc;
}

devid_rc devid_store_open_key(const char *uid, devid_key **key)
{
    char path[4096];
    unsigned char *pem = NULL;
    size_t len = 0;
    devid_rc rc = read_part(uid, "key", MAX_KEY_FILE, path, sizeof(path), &pem, &len);
    if (rc == DEVID_OK) {
        rc = devid_key_load_tss2(pem, len, key);
        if (rc != DEVID_OK && rc != DEVID_ERR_NO_TPM)
            rc = devid_fail(rc, "%s: %s", path, devid_last_error());
    }
    free(pem);
    devid_store_attrs attrs;
    if (rc == DEVID_OK && devid_store_get_attrs(uid, &attrs) == DEVID_OK && attrs.token_bound)
        devid__key_mark_token_bound(*key);
    if (rc == DEVID_OK && devid_key_needs_auth(*key)) {
        unsigned char secret[32];
        size_t n = 0;
        /* Not logged in: the key opens (its public part is public) but the TPM will refuse
         * to use it; front-ends log in before they use it (devid_token_login_configured). */
        if (devid_token_current_auth(secret, &n) == DEVID_OK && n)
            devid_key_set_auth(*key, secret, n);
        OPENSSL_cleanse(secret, sizeof(secret));
        devid_clear_error();
    }
    return rc;
}

devid_rc devid_store_read_cert(const char *uid, X509 **cert)
{
    char path[4096];
    devid_rc rc = store_part_path(uid, "crt", path, sizeof(path));
    return rc == DEVID_OK ? devid_cert_read_pem(path, cert, NULL) : rc;
}
