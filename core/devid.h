/* SPDX-License-Identifier: Apache-2.0 */
/* libdevid-core: the one place that talks to the TPM. Front-ends include this header only
 * (devid-enroll also fsutil.h).
 *
 * The API is what core.map exports: start-up and shutdown (core.h: devid_core_init, or
 * devid_core_init_with for a host's settings, and devid_core_fini), errors and logging
 * (error.h, log.h), TPM keys and their operations (key.h; rsa_scheme.h says which RSA
 * schemes a TPM key can use, ecdsa_der.h converts signatures), the DevID identities and their
 * certificates (identity.h, cert.h, nv.h), the token's PINs (token.h), the object store
 * (store.h) and provisioning (provision.h). Declarations marked core-internal in these headers,
 * and the headers devid.h does not include (tpm.h, session.h, srk.h, keygen.h, ...), are not
 * exported. Every call returns a devid_rc; devid_last_error() says what failed. */
#ifndef DEVID_H
#define DEVID_H

#include "attest.h"
#include "config.h"
#include "core.h"
#include "ecdsa_der.h"
#include "error.h"
#include "identity.h"
#include "key.h"
#include "log.h"
#include "nv.h"
#include "provision.h"
#include "rsa_scheme.h"
#include "cert.h"
#include "store.h"
#include "token.h"
#include "tpm_caps.h"

#endif
