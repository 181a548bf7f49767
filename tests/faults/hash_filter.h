/* SPDX-License-Identifier: Apache-2.0 */
/* The devidfault TCTI's hash filter (hash_filter.c), configured by
 *   DEVID_FAULT_HASHES="sha1,sha256"   the hashes the TPM seems to implement; the others it
 *                                      knows (SHA-384, SHA-512, SM3, SHA3) are hidden. */
#ifndef DEVID_HASH_FILTER_H
#define DEVID_HASH_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool hash_filter_active(void);
/* A command naming a hidden hash: true, *rc the TPM's answer (TPM_RC_HASH on the parameter);
 * it must not reach the TPM. */
bool hash_filter_command(const uint8_t *cmd, size_t size, uint32_t *rc);
/* Whether the response to this command lists algorithms (TPM2_GetCapability(TPM_CAP_ALGS)). */
bool hash_filter_wants_response(const uint8_t *cmd, size_t size);
/* Removes the hidden hashes from such a response, in place. */
void hash_filter_response(uint8_t *resp, size_t *size);

#endif
