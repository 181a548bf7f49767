/* SPDX-License-Identifier: Apache-2.0 */
/* Why the TPM cannot be reached, said with its fix (core-internal). A device TCTI is diagnosed
 * by looking at the device node itself: it does not exist, this user may not open it, or
 * another process holds it; tpm2-tss reports all three as the same "IO failure". */
#ifndef DEVID_TPM_DIAG_H
#define DEVID_TPM_DIAG_H

#include "error.h"

#include <stddef.h>
#include <tss2/tss2_common.h>

/* The DEVID_ERR_NO_TPM for a TCTI (conf, NULL for devid's default search) that failed with
 * rc. Also said once per process at the default level (devid_log_unusable). */
devid_rc devid_tpm_connect_failed(const char *conf, TSS2_RC rc);

/* The message for device node `path` that could not be opened with errno err. */
void devid_tpm_device_problem(const char *path, int err, char *msg, size_t len);

#endif
