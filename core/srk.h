/* SPDX-License-Identifier: Apache-2.0 */
/* The storage root key that store keys are created and loaded under (core-internal).
 * A persistent SRK (0x81000001 by default) is used when the device has one; otherwise the TCG
 * standard ECC P-256 SRK is created in the owner hierarchy once per connection and kept. */
#ifndef DEVID_SRK_H
#define DEVID_SRK_H

#include "error.h"

#include <stdbool.h>

#include <tss2/tss2_esys.h>

#define DEVID_SRK_PERSISTENT 0x81000001u

/* ESYS_TR of parent `parent`: a persistent handle, or TPM2_RH_OWNER for the standard SRK.
 * Lock held. */
devid_rc devid_srk_resolve(ESYS_CONTEXT *ctx, uint32_t parent, ESYS_TR *out);

/* Creates a primary with the TCG standard ECC P-256 storage key template (restricted decrypt,
 * AES-128-CFB) in `hierarchy` (ESYS_TR_RH_OWNER: the standard SRK; ESYS_TR_RH_NULL: a salt key
 * that needs no owner authorisation). Lock held. */
devid_rc devid_create_storage_primary(ESYS_CONTEXT *ctx, ESYS_TR hierarchy, ESYS_TR *out);

/* The parent new keys go under: DEVID_SRK_PERSISTENT if present, else TPM2_RH_OWNER. */
devid_rc devid_srk_default_parent(ESYS_CONTEXT *ctx, uint32_t *parent);

/* Flushes the created SRK (graceful disconnect). Lock held. */
void devid_srk_close(ESYS_CONTEXT *ctx);

/* True if TPM handle h is the standard SRK we created on this connection. Lock held. */
bool devid_srk_owns_transient_locked(uint32_t h);
/* True if we hold the standard SRK as a transient object on this connection. Lock held. */
bool devid_srk_transient_loaded_locked(void);

/* Drops cached handles (new connection or fork). */
void devid_srk_forget_locked(void);

#endif
