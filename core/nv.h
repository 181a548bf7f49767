/* SPDX-License-Identifier: Apache-2.0 */
/* Reading NV indices (certificates written at the factory). */
#ifndef DEVID_NV_H
#define DEVID_NV_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

/* Reads the whole NV index `index` into a malloc'd buffer, in chunks of the TPM's NV buffer
 * size. Authorisation: the index's own (empty) auth when it allows AUTHREAD, else the owner
 * hierarchy (OWNERREAD), falling back to the owner when the index's own auth is refused.
 * DEVID_ERR_NOT_FOUND when the index is not defined. Core-internal (not exported). */
devid_rc devid__nv_read(uint32_t index, unsigned char **data, size_t *len);

/* Largest NV index devid reads (a certificate chain fits comfortably). */
#define DEVID_NV_MAX_SIZE 8192

#endif
