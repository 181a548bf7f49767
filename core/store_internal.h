/* SPDX-License-Identifier: Apache-2.0 */
/* What store.c shares with store_list.c, store_change.c, store_remove.c and provision.c
 * (core-internal; not exported: no devid_ prefix). */
#ifndef DEVID_STORE_INTERNAL_H
#define DEVID_STORE_INTERNAL_H

#include "error.h"
#include "store.h"
#include "tss2_file.h"

#include <stdbool.h>
#include <stddef.h>

const char *store_dir(void);
bool store_valid_uid(const char *uid);
/* <store>/<uid>.<ext>, checked. */
devid_rc store_part_path(const char *uid, const char *ext, char *path, size_t len);
/* Whether <store>/<uid>.<ext> exists. */
bool store_part_exists(const char *uid, const char *ext);
/* Writes a group's attributes file <store>/<uid>.attr (atomically; store lock held). */
devid_rc store_write_attrs(const char *uid, const devid_store_attrs *a);
/* A store key's TSS2 blob, read from <store>/<uid>.key and decoded. */
devid_rc store_read_key_blob(const char *uid, devid_tss2_key *blob);
/* The exclusive flock on <store>/.lock that every mutation holds. */
devid_rc store_lock(int *fd);
void store_unlock(int fd);

/* Lock held: finishes group removals a crash interrupted (store_remove.c). */
void store_finish_removals(void);

#endif
