/* Key creation in the TPM (core-internal; store.c writes the result). */
#ifndef DEVID_KEYGEN_H
#define DEVID_KEYGEN_H

#include "store.h"
#include "tss2_file.h"

/* Creates a key under the default parent (the SRK) and returns it in loadable form. The auth
 * value travels in a salted, encrypted session. */
devid_rc devid_keygen_create(const devid_keygen *params, devid_tss2_key *out);

#endif
