/* SPDX-License-Identifier: Apache-2.0 */
/* Resolving devid: URIs to objects (store.c), shared by the store loader and the decoders. */
#ifndef DEVID_PROV_STORE_H
#define DEVID_PROV_STORE_H

#include "provider.h"
#include "uri.h"

/* The first private key the URI designates, or NULL (error raised). */
dp_key *dp_open_uri_key(dp_ctx *ctx, const char *uri);

#endif
