/* SPDX-License-Identifier: Apache-2.0 */
/* libdevid-core lifecycle.
 *
 * devid_core_init() loads the configuration (config.h) and sets the log level; it never touches
 * the TPM, so loading a front-end is fast and quiet even with no TPM. Calls nest: the last
 * devid_core_fini() closes the TPM connection and frees everything, so a host may
 * init → use → fini → dlclose repeatedly without leaking.
 */
#ifndef DEVID_CORE_H
#define DEVID_CORE_H

#include "config.h"
#include "error.h"

#include <stdint.h>

devid_rc devid_core_init(void);
/* devid_core_init with a host's settings (config.h devid_settings; NULL: none), for a
 * front-end configured by its host rather than by the environment (the provider's openssl.cnf
 * section). They count when this call initialises core; once another front-end in the
 * process has, core is already configured and they are not used (logged at debug). */
devid_rc devid_core_init_with(const devid_settings *settings);
/* Undoes one devid_core_init / devid_core_init_with. */
void devid_core_fini(void);

/* Number of TPM commands this process has sent, over every front-end (tests and benchmarks
 * assert on it). */
uint64_t devid_tpm_command_count(void);
/* The wall time, in nanoseconds, this process has spent inside the ESAPI calls that send
 * those commands: the TPM's work, the transport and tpm2-tss's own (marshalling, the name
 * hashes it computes). What a benchmark subtracts to see an operation's own time. */
uint64_t devid_tpm_command_ns(void);

/* The loaded configuration (NULL before init). */
const devid_config *devid_core_config(void);

#endif
