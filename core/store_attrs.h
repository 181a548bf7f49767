/* SPDX-License-Identifier: Apache-2.0 */
/* The store's attributes file (core/store.h: one per object group): its text format, read
 * and written here. Internal to core. */
#ifndef DEVID_STORE_ATTRS_H
#define DEVID_STORE_ATTRS_H

#include "store.h"

/* Drops own names equal to the group's (the file keeps the older format). */
void store_attrs_normalize(devid_store_attrs *a);
/* The attributes as the file's text (devid_store_parse_attrs reads it back). */
devid_rc store_attrs_encode(const devid_store_attrs *a, char *out, size_t len);

#endif
