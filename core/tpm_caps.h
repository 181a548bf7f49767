/* What this TPM can do, asked of the TPM itself: the key sizes and curves it accepts
 * (TPM2_TestParms). */
#ifndef DEVID_TPM_CAPS_H
#define DEVID_TPM_CAPS_H

#include "error.h"
#include "key.h"

/* The smallest and largest key this TPM accepts of a type: RSA modulus bits among 1024,
 * 2048, 3072, 4096; EC field bits among the NIST curves P-256, P-384, P-521 (a TPM may lack
 * one in between: see devid_tpm_key_size_ok). Asked once per process (a few TPM2_TestParms),
 * then remembered. DEVID_ERR_UNSUPPORTED if the TPM accepts none. */
devid_rc devid_tpm_key_sizes(devid_key_type type, unsigned *min_bits, unsigned *max_bits);
/* Whether this TPM accepts keys of that type and size (bits as above). */
devid_rc devid_tpm_key_size_ok(devid_key_type type, unsigned bits, bool *ok);

#endif
