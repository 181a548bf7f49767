/* SPDX-License-Identifier: Apache-2.0 */
/* What store.c and store_remove.c share (core-internal; not exported: no devid_ prefix). */
#ifndef DEVID_STORE_INTERNAL_H
#define DEVID_STORE_INTERNAL_H

#include "error.h"

#include <stdbool.h>
#include <stddef.h>

const char *store_dir(void);
bool store_valid_uid(const char *uid);
/* <store>/<uid>.<ext>, checked. */
devid_rc store_part_path(const char *uid, const char *ext, char *path, size_t len);
/* The exclusive flock on <store>/.lock that every mutation holds. */
devid_rc store_lock(int *fd);
void store_unlock(int fd);

/* Lock held: finishes group removals a crash interrupted (store_remove.c). */
void store_finish_removals(void);

#endif
