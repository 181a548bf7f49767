/* SPDX-License-Identifier: Apache-2.0 */
/* The record that a factory identity's certificate (the IDevID's, the IAK's) was issued on the
 * EK-attested exchange (factory_attest.h): an empty file
 * <directory of the configuration file>/factory-attested/<SHA-256 of the certificate, hex>,
 * written by the factory step before the certificate goes into NV.
 *
 * Not in the store (csr_attest.h keeps the records of attested CSRs there): every member of
 * the group devid may write in the store, while the certificates these records vouch for are
 * in NV, written by the platform (or owner) and write-locked. The configuration's directory is
 * written by root only (/etc/devid, 0750 root:devid), like devid.conf that names those NV
 * indices; a record there is no easier to forge than the configuration. It is the device's own
 * note, not evidence: the CA checked the evidence. Keyed by the certificate, so a record left
 * by a crash before the NV write vouches for no other certificate; retire leaves these (it does
 * not retire the IDevID). */
#ifndef DEVID_ENROLL_FACTORY_RECORD_H
#define DEVID_ENROLL_FACTORY_RECORD_H

#include "error.h"

#include <openssl/x509.h>
#include <stdbool.h>

/* Whether a record can be written (the configuration's directory is writable), checked before
 * the factory step touches the TPM. */
devid_rc factory_record_check(void);
/* Records that `cert` was issued on the EK-attested exchange. */
devid_rc factory_record_write(X509 *cert);
/* Whether `cert` was recorded so, in a directory nobody but its owner may write (a record
 * directory that others could write in vouches for nothing). */
bool factory_record_exists(X509 *cert);

#endif
