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
void devid_core_fini(void);

/* Number of TPM commands this process has sent (tests and benchmarks assert on it). */
uint64_t devid_tpm_command_count(void);

/* The loaded configuration (NULL before init). */
const devid_config *devid_core_config(void);

#endif
