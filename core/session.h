/* SPDX-License-Identifier: Apache-2.0 */
/* Session policy: the one function that decides how a TPM command is authorised
 * (docs/design.md "TPM access and sessions"). Core-internal.
 *
 * - A command that carries no secret (the object's auth value is empty and no sensitive
 *   parameter crosses the bus) runs with a plain password session: anyone on the bus could send
 *   the same command, so protection would buy nothing and cost a round of client-side HMAC.
 *   Signing with an empty-auth DevID is thus exactly one TPM2_Sign.
 * - Anything else runs in a salted HMAC session with AES-128-CFB parameter encryption on every
 *   direction whose first parameter is a sized buffer, so no auth value or sensitive data is
 *   ever in clear on the bus. The session is started once per connection and kept
 *   (continueSession), so a protected command still costs one TPM command.
 */
#ifndef DEVID_SESSION_H
#define DEVID_SESSION_H

#include "error.h"

#include <stdbool.h>
#include <tss2/tss2_esys.h>

typedef struct devid_cmd_shape {
    bool carries_secret;  /* the authorised object has an auth value, or a parameter is secret */
    bool first_in_sized;  /* the command's first parameter is a TPM2B (can be encrypted) */
    bool first_out_sized; /* the response's first parameter is a TPM2B */
} devid_cmd_shape;

/* Returns the session to pass as shandle1. Lock held. Never needs releasing. */
devid_rc devid_session_for(ESYS_CONTEXT *ctx, devid_cmd_shape shape, ESYS_TR *session);

/* Flushes the kept session and salt key (on disconnect). */
void devid_session_close(ESYS_CONTEXT *ctx);
/* Forgets them without TPM commands (after fork: they belong to the parent's connection). */
void devid_session_forget_locked(void);

/* Lock held: flushes our transient salt key to free an object slot (the kept session does
 * not need it; the next session start makes a new one). False if there was none. */
bool devid_session_release_salt(ESYS_CONTEXT *ctx);

/* True if TPM handle h is our transient salt key. Lock held. */
bool devid_session_owns_transient(ESYS_CONTEXT *ctx, uint32_t h);
/* True if our transient salt key is loaded on this connection. Lock held. */
bool devid_session_salt_loaded_locked(void);

/* Number of salted sessions started (tests assert sessions are reused). */
unsigned long devid_session_started_count(void);

#endif
