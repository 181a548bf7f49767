/* SPDX-License-Identifier: Apache-2.0 */
/* devid_key internals shared by key.c (objects), key_slots.c (their TPM objects) and sign.c
 * (signatures). Core-internal. */
#ifndef DEVID_KEY_INTERNAL_H
#define DEVID_KEY_INTERNAL_H

#include "key.h"
#include "tss2_file.h"

#include <stdbool.h>
#include <tss2/tss2_esys.h>

struct devid_key {
    uint32_t handle; /* persistent handle; 0 for a loadable (store/file) key */
    bool loadable;
    bool token_bound;                 /* auth value is the token secret (token.h) */
    devid_tss2_key blob;              /* loadable keys: public, wrapped private, parent */
    devid_key *lru_prev, *lru_next;   /* loaded loadable keys, most recently used first */
    devid_key *open_prev, *open_next; /* every open loadable key (sharing one loaded object) */
    TPMT_PUBLIC pub;                  /* public area as read from the TPM */
    TPM2B_NAME name;                  /* persistent keys: the TPM's name of the object */
    EVP_PKEY *pkey; /* its OpenSSL form, built on first use (devid_key_get_public):
                               signing needs none, and OpenSSL's first use costs milliseconds */
    devid_key_type type;
    unsigned flags;
    int bits;
    size_t size;     /* EC: order length; RSA: modulus length */
    TPM2B_AUTH auth; /* cleansed on free */
    ESYS_TR tr;      /* resolved object, valid for `generation` */
    uint64_t generation;
    uint64_t tr_epoch; /* persistent keys: devid_tpm_tr_epoch_locked() when resolved */
};

/* One TPM operation on a key, run with the lock held and key->tr bound; `session` is what the
 * session policy chose for `shape`. */
#include "session.h"
typedef devid_rc (*devid_key_op)(ESYS_CONTEXT *ctx, devid_key *key, ESYS_TR session, void *arg);

/* Runs op: binds the key, picks the session, retries once on a fresh connection if the old
 * one died, and on transient TPM conditions as devid_tpm_retry_wait (tpm.h) says. */
devid_rc devid_key_run(devid_key *key, devid_cmd_shape shape, devid_key_op op, void *arg);

/* Lock held: flushes every loaded loadable key (graceful disconnect), or forgets them without
 * TPM commands (broken connection, fork). */
void devid_keys_flush_loaded(ESYS_CONTEXT *ctx);
void devid_keys_forget_loaded_locked(void);
/* Lock held: flushes the least recently used loaded key to free a TPM object slot (a TPM
 * without resource manager has only a few). False if there was none to flush. */
bool devid_keys_evict_one(ESYS_CONTEXT *ctx);
/* The same, never flushing `keep` (the key the asking operation uses). */
bool devid_keys_evict_one_but(ESYS_CONTEXT *ctx, const devid_key *keep);
/* Lock held: before a command brings a persistent object into the TPM (TPM2_ReadPublic of it):
 * without a resource manager, if our transient objects already fill the PC Client minimum of
 * three slots (swtpm has exactly three), flushes the least recently used key (never the most
 * recently bound one, which the asking operation may use; else the salt key) first, so the command does not fail with TPM_RC_OBJECT_MEMORY (and tpm2-tss print an error)
 * to be sent again after the same flush. A TPM with more slots only sees an idle key flushed
 * early (loaded again if used again). */
void devid_keys_make_room_locked(ESYS_CONTEXT *ctx);
/* Lock held: loads a TSS2 blob under its parent, evicting our least recently used keys (but
 * not `keep`) when the TPM is out of object memory. */
devid_rc devid_tpm_load_blob(ESYS_CONTEXT *ctx, const devid_tss2_key *blob, const devid_key *keep,
                             ESYS_TR *out);
/* True if rc is the TPM's "out of object memory" warning. */
#define DEVID_TPM_OBJECT_MEMORY(rc) ((0xFFF & (rc)) == TPM2_RC_OBJECT_MEMORY)

/* devid_key_hmac with the path chosen: an HMAC sequence even for short data (tests compare the
 * two paths). */
devid_rc devid_key_hmac_path(devid_key *key, const unsigned char *data, size_t len,
                             unsigned char mac[DEVID_HMAC_SIZE], bool sequence);

/* With the TPM lock held: makes key->tr valid for the current connection and sets its auth. */
devid_rc devid_key_bind(ESYS_CONTEXT *ctx, devid_key *key);
/* Lock held: a loadable key just opened joins the open keys, with which it shares one loaded
 * TPM object per key. */
void devid_key_opened_locked(devid_key *key);
/* Lock held (ctx NULL when not connected), as key is freed: its loaded object goes to another
 * open devid_key of the same key, or is flushed; a persistent key's ESYS_TR is released; a
 * loadable key leaves the open keys. */
void devid_key_release_locked(ESYS_CONTEXT *ctx, devid_key *key);

#endif
