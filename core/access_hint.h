/* SPDX-License-Identifier: Apache-2.0 */
/* What a "Permission denied" on one of devid's files means, and what fixes it. devid's files
 * are shared with the members of a group (the store 2770, /etc/devid 0750, their files 0640,
 * devid.conf(5)): a service user left out of the group, or a file an older devid made 0600,
 * is the usual cause, and the bare errno says neither. */
#ifndef DEVID_ACCESS_HINT_H
#define DEVID_ACCESS_HINT_H

#include <stdbool.h>
#include <stddef.h>

/* After an EACCES on path (reading it, or with `write` writing or creating it): " (WHAT is
 * MODE OWNER:GROUP: FIX)" into buf, naming the first directory on the way this user may not
 * enter, or the directory that may not be written, or the file, and the chmod or usermod that
 * fixes it; "" if the modes do not explain it (ACLs, a security module). errno is kept. */
void devid_access_hint(const char *path, bool write, char *buf, size_t len);

#endif
