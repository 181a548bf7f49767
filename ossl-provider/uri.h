/* SPDX-License-Identifier: Apache-2.0 */
/* devid: URIs (RFC 7512 PKCS#11 URI syntax):
 *
 *   devid:[attr=value[;attr=value]...][?query=value[&query=value]...]
 *
 * path attributes: object=LABEL (IDevID, LDevID, IAK, EK or a store label), id=BYTES (CKA_ID,
 * percent-encoded), type=private|public|cert, handle=0x81xxxxxx (persistent handle); token,
 * manufacturer, serial, model, library-* are accepted and ignored (there is one token).
 * query attributes: pin-value=PIN, pin-source=file:/PATH, file:///PATH or /PATH (a file holding
 * the PIN; trailing line ends dropped; no other source). The PIN is cleansed by dp_uri_clear.
 * Values are percent-decoded; a repeated or unknown attribute, a bad escape or a bad value is
 * an error (the message says which). */
#ifndef DEVID_PROV_URI_H
#define DEVID_PROV_URI_H

#include "devid.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum dp_uri_type { DP_URI_ANY = 0, DP_URI_PRIVATE, DP_URI_PUBLIC, DP_URI_CERT } dp_uri_type;

typedef struct dp_uri {
    char *object; /* NULL: any */
    unsigned char id[DEVID_ID_MAX];
    size_t id_len;
    bool has_id;
    dp_uri_type type;
    uint32_t handle; /* 0: any */
    char *pin;       /* NULL: none (pin-value or the content of pin-source) */
    size_t pin_len;
} dp_uri;

/* Parses uri into out (zeroed first). On failure writes a message to err and returns false. */
bool dp_uri_parse(const char *uri, dp_uri *out, char *err, size_t errlen);
void dp_uri_clear(dp_uri *u);

#endif
