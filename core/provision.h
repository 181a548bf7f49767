/* SPDX-License-Identifier: Apache-2.0 */
/* Provisioning of persistent DevID keys and NV certificates: the factory and owner steps of
 * devid-enroll. The PKCS#11 module and the provider never call these (docs/design.md: they find
 * the DevIDs, they never create or delete them). */
#ifndef DEVID_PROVISION_H
#define DEVID_PROVISION_H

#include "error.h"
#include "key.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum devid_hierarchy {
    DEVID_HIER_ENDORSEMENT,  /* a primary key in the endorsement hierarchy (IDevID, IAK) */
    DEVID_HIER_OWNER,        /* a child of the SRK in the storage hierarchy (LDevID) */
} devid_hierarchy;

/* Which template a provisioned key is made from (devid_templates.h). */
typedef enum devid_provision_template {
    DEVID_TEMPLATE_PLAIN = 0, /* devid's general signing key (keygen.h) */
    DEVID_TEMPLATE_IDEVID,    /* TCG device identity: unrestricted signing key */
    DEVID_TEMPLATE_IAK,       /* TCG device identity: restricted signing (attestation) key */
} devid_provision_template;

typedef struct devid_provision_spec {
    uint32_t handle;         /* persistent handle to make it at */
    devid_hierarchy hierarchy;
    devid_key_type type;
    int curve_nid;           /* EC: NID_X9_62_prime256v1 or NID_secp384r1 */
    int bits;                /* RSA: 2048, 3072, 4096 */
    devid_provision_template tmpl; /* TCG templates: endorsement hierarchy only */
} devid_provision_spec;

/* Creates a signing key per spec and makes it persistent at spec->handle. An occupied handle
 * is never overwritten: DEVID_ERR_PROHIBITED ("handle in use"). Returns the opened key. */
devid_rc devid_provision_key(const devid_provision_spec *spec, devid_key **out);

/* Makes the store key `uid` persistent at `handle` (a re-keyed LDevID taking over the LDevID
 * handle once the old key is removed). The store copy stays until the caller deletes it.
 * A key bound to the token is refused (DEVID_ERR_PROHIBITED): map keys have no auth value, so
 * generate it with devid_keygen.map_key. */
devid_rc devid_provision_persist_store_key(const char *uid, uint32_t handle);

/* Removes the persistent key at handle (owner authorisation). */
devid_rc devid_provision_remove_key(uint32_t handle);

/* Asked by the factory step before the CA issues anything: whether the hierarchy auth values
 * the rest of the step needs are configured. With `activate`, the endorsement hierarchy's (the
 * EK's policy for TPM2_ActivateCredential); when the platform hierarchy is disabled (a
 * deployed device), the owner's (it defines the certificate indices, devid_nv_write_cert).
 * DEVID_ERR_CONFIG naming the setting when the TPM has such an auth value and the
 * configuration no file for it. No authorisation is sent: one TPM2_GetCapability, none when
 * both files are configured. */
devid_rc devid_factory_auth_ready(bool activate);

/* Writes a DER certificate into NV index `index`, defining it (platform hierarchy when its
 * authorisation is available, as at a factory station; else the owner) with TCG certificate
 * index attributes, sized to the certificate. An existing index is replaced only if
 * `replace` is set. */
devid_rc devid_nv_write_cert(uint32_t index, const unsigned char *der, size_t len, bool replace);

#endif
