/* SPDX-License-Identifier: Apache-2.0 */
/* What this TPM can do and how its dictionary-attack protection stands, asked of the TPM
 * itself: the key sizes and curves it accepts (TPM2_TestParms), the hashes it implements
 * (TPM2_GetCapability), the lockout counter
 * (TPM2_GetCapability). */
#ifndef DEVID_TPM_CAPS_H
#define DEVID_TPM_CAPS_H

#include "error.h"
#include "key.h"

#include <stdbool.h>
#include <stdint.h>

/* The smallest and largest key this TPM accepts of a type: RSA modulus bits among 1024,
 * 2048, 3072, 4096; EC field bits among the NIST curves P-256, P-384, P-521 (a TPM may lack
 * one in between: see devid_tpm_key_size_ok). Asked once per process (a few TPM2_TestParms),
 * then remembered. DEVID_ERR_UNSUPPORTED if the TPM accepts none. */
devid_rc devid_tpm_key_sizes(devid_key_type type, unsigned *min_bits, unsigned *max_bits);
/* Whether this TPM accepts keys of that type and size (bits as above). */
devid_rc devid_tpm_key_size_ok(devid_key_type type, unsigned bits, bool *ok);

/* Whether this TPM implements the hash with this OpenSSL digest NID (SHA-1, SHA-256, SHA-384,
 * SHA-512; *ok false for any other). Many TPMs have SHA-1 and SHA-256 only, and refuse a
 * signature scheme naming another hash. SHA-256 is taken as given (every TPM 2.0 has it);
 * the others cost one TPM2_GetCapability(TPM_CAP_ALGS) the first time one is asked, then the
 * answer is remembered for the process. */
devid_rc devid_tpm_hash_implemented(int md_nid, bool *ok);

/* The TPM's dictionary-attack state (TPM_PT_LOCKOUT_COUNTER, _MAX_AUTH_FAIL,
 * _LOCKOUT_INTERVAL, _LOCKOUT_RECOVERY): failures counted now, the count that locks DA-protected
 * objects (the sealed token secret that PINs open), seconds until one failure is forgotten,
 * seconds a lockout-auth failure locks. Asked each time (one TPM2_GetCapability): it changes. */
typedef struct devid_lockout_state {
    uint32_t counter;
    uint32_t max_tries;
    uint32_t interval;
    uint32_t recovery;
} devid_lockout_state;
devid_rc devid_tpm_lockout_state(devid_lockout_state *out);
/* Locked out: no DA-protected object is usable until the counter drops below max_tries. */
static inline bool devid_lockout_locked(const devid_lockout_state *st)
{
    return st->counter >= st->max_tries;
}

#endif
