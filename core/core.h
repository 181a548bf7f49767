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

devid_rc devid_core_init(void);
void devid_core_fini(void);

/* The loaded configuration (NULL before init). */
const devid_config *devid_core_config(void);

#endif
