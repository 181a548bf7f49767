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

/* Before a step that will need a hierarchy's authorisation and cannot be undone (a CA asked
 * to issue), whether it can succeed, without any authorisation sent:
 * devid_hierarchy_has_file: a file is configured for h (nothing to ask the TPM then: the
 * value's one use tells whether it is right);
 * devid_hierarchy_state (lock held): the TPM's TPMA_PERMANENT (ownerAuthSet,
 * endorsementAuthSet) and TPMA_STARTUP_CLEAR (phEnable), one TPM2_GetCapability;
 * devid_hierarchy_configured: the DEVID_ERR_CONFIG naming h's setting, for the step `what`,
 * when h has an auth value and no file is configured. */
bool devid_hierarchy_has_file(ESYS_TR h);
devid_rc devid_hierarchy_state(ESYS_CONTEXT *ctx, TPMA_PERMANENT *permanent,
                               TPMA_STARTUP_CLEAR *startup);
devid_rc devid_hierarchy_configured(TPMA_PERMANENT permanent, ESYS_TR h, const char *what);

#endif
