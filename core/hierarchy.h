/* SPDX-License-Identifier: Apache-2.0 */
/* Hierarchy authorisation (core-internal): a TPM whose owner or endorsement hierarchy has an
 * auth value (set by the IT department or the OEM with TPM2_HierarchyChangeAuth) works when the
 * config names files holding them (owner_auth_file, endorsement_auth_file). The values are
 * secrets: read from their files when a command needs them, sent only in the salted,
 * parameter-encrypted session (session.h), cleansed after use. A value that is missing or wrong
 * is a DEVID_ERR_CONFIG naming the setting; the command is never retried with another value.
 */
#ifndef DEVID_HIERARCHY_H
#define DEVID_HIERARCHY_H

#include "error.h"
#include "session.h"

#include <tss2/tss2_esys.h>

/* Lock held. Sets the auth value of hierarchy h (ESYS_TR_RH_OWNER or ESYS_TR_RH_ENDORSEMENT;
 * others get an empty one) from its file and returns the session for the command that
 * authorises with it: the salted session when there is a value (shape says where its
 * parameters are; carries_secret is implied), else the password session. */
devid_rc devid_hierarchy_session(ESYS_CONTEXT *ctx, ESYS_TR h, devid_cmd_shape shape,
                                 ESYS_TR *session);

/* devid_tpm_check for a command authorised by hierarchy h, to call right after it (lock
 * held): the auth value is wiped from ESAPI's copy (each command sets it again), and an
 * authorisation failure becomes a DEVID_ERR_CONFIG that says which setting to fix. */
devid_rc devid_hierarchy_check(ESYS_CONTEXT *ctx, TSS2_RC rc, ESYS_TR h, const char *what);

/* Lock held. Before a step that will need hierarchy h's authorisation and cannot be undone
 * (a CA asked to issue): when no file is configured for h but the TPM says h has an auth value
 * (TPMA_PERMANENT ownerAuthSet / endorsementAuthSet), the DEVID_ERR_CONFIG naming the setting
 * that the command would end in, without any authorisation sent. One TPM2_GetCapability when
 * no file is configured, none otherwise (a wrong value is found by its one use). */
devid_rc devid_hierarchy_configured(ESYS_CONTEXT *ctx, ESYS_TR h, const char *what);

#endif
