/* SPDX-License-Identifier: Apache-2.0 */
/* Token PINs, checked by the TPM (docs/design.md "PINs").
 *
 * A factory-fresh device has no PINs: nothing needs a login and store keys have no auth value.
 * Setting PINs works like a smart card: C_InitToken sets the SO PIN (and clears the store),
 * C_InitPIN the user PIN. Underneath, a random 32-byte token secret T is sealed in the TPM
 * twice — once under the user PIN, once under the SO PIN (files token-user.seal and
 * token-so.seal in the store). Logging in unseals T: the TPM checks the PIN, and its
 * dictionary-attack lockout limits guessing. Keys generated while PINs are set get T as their
 * auth value, so the TPM refuses them to anyone who has not logged in, even with the store
 * files in hand. Changing a PIN re-seals T; keys are untouched. T only ever crosses the bus
 * in encrypted sessions and is cleansed from memory at logout.
 */
#ifndef DEVID_TOKEN_H
#define DEVID_TOKEN_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum devid_role { DEVID_ROLE_USER = 0, DEVID_ROLE_SO = 1 } devid_role;

typedef struct devid_token_state {
    bool so_pin_set;
    bool user_pin_set;
    bool logged_in[2]; /* by role, in this process */
} devid_token_state;

devid_rc devid_token_state_get(devid_token_state *st);

/* Checks pin for role in the TPM and, on success, keeps T for this process.
 * DEVID_ERR_AUTH: wrong PIN (counted by the TPM). DEVID_ERR_LOCKOUT: the TPM refuses PIN
 * checks for now. DEVID_ERR_NOT_FOUND: no PIN of that role is set. */
devid_rc devid_token_login(devid_role role, const void *pin, size_t len);
/* Forgets T (cleansed). */
void devid_token_logout(void);

/* Token (re)initialisation with the SO PIN: the first call sets it; later calls must present
 * it. Clears the store and the user PIN; new T. Factory objects are never touched. */
devid_rc devid_token_init(const void *so_pin, size_t len);

/* Sets role's PIN to pin. Needs a login that unsealed T (SO for the user PIN after
 * C_InitToken; the user or SO themselves for C_SetPIN). */
devid_rc devid_token_set_pin(devid_role role, const void *pin, size_t len);

/* Front-ends that cannot ask for a PIN (the OpenSSL provider, devid-enroll) take the user PIN
 * from the file named by `pin_file` in devid.conf (never from the command line or the
 * environment). Logs in with it when PINs are set and nobody is logged in; DEVID_OK at once
 * when no PIN is set or a login holds the token secret. A PIN the TPM refused is remembered
 * (its SHA-256) and never sent again by this process: every wrong try counts against the
 * TPM's dictionary-attack lockout. Errors name the setting and the configuration file. */
devid_rc devid_token_login_configured(void);
/* Logs the user in with a PIN given without a prompt (a devid: URI's pin-value / pin-source),
 * unless the TPM refused this same PIN before in this process (then DEVID_ERR_AUTH without a
 * TPM command). */
devid_rc devid_token_login_once(const void *pin, size_t len);
/* From now on, devid_token_key_auth logs in with devid_token_login_configured when it needs
 * the token secret and nobody has logged in (lazily: only an operation that needs the PIN
 * reads it). For devid-enroll; the PKCS#11 module never calls it (its applications log in). */
void devid_token_use_configured_pin(void);
bool devid_token_configured_pin_in_use(void);

/* The auth value new keys get: T when PINs are set and a login holds it (copied to auth,
 * *len set), else empty (*len = 0). DEVID_ERR_AUTH if PINs are set but nobody logged in. */
devid_rc devid_token_key_auth(unsigned char auth[32], size_t *len);
/* The same, without logging in from the configured source (opening a key needs no PIN: its
 * public part is public; a login happens when the key is used). */
devid_rc devid_token_current_auth(unsigned char auth[32], size_t *len);

#endif
