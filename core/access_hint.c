/* SPDX-License-Identifier: Apache-2.0 */
/* What a "Permission denied" on one of devid's files means, and what fixes it (access_hint.h). */
#include "access_hint.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool in_group(gid_t gid)
{
    if (getegid() == gid)
        return true;
    int n = getgroups(0, NULL);
    if (n <= 0)
        return false;
    gid_t *groups = calloc((size_t)n, sizeof(*groups));
    bool found = false;
    n = groups ? getgroups(n, groups) : -1;
    for (int i = 0; i < n && !found; i++)
        found = groups[i] == gid;
    free(groups);
    return found;
}

/* The user's name (or number), thread-safe; buf holds it. */
static const char *user_name(uid_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) == 0 && res)
        snprintf(buf, len, "%s", pw.pw_name);
    else
        snprintf(buf, len, "%lu", (unsigned long)uid);
    return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t len)
{
    struct group gr, *res = NULL;
    char tmp[4096];
    if (getgrgid_r(gid, &gr, tmp, sizeof(tmp), &res) == 0 && res)
        snprintf(buf, len, "%s", gr.gr_name);
    else
        snprintf(buf, len, "%lu", (unsigned long)gid);
    return buf;
}

/* Whether one of path's directories is one this user may not enter: the first (from the root
 * down) into dir. */
static bool blocking_dir(const char *path, char *dir, size_t len)
{
    size_t n = strlen(path);
    if (n >= len)
        return false;
    for (size_t i = 1; i < n; i++) {
        if (path[i] != '/')
            continue;
        memcpy(dir, path, i);
        dir[i] = '\0';
        if (access(dir, X_OK) != 0 && errno == EACCES)
            return true;
    }
    return false;
}

void devid_access_hint(const char *path, bool write, char *buf, size_t len)
{
    int saved = errno;
    char obj[4096];
    char perm = write ? 'w' : 'r';
    const char *verb = write ? "write to" : "read";
    struct stat st;
    buf[0] = '\0';
    if (blocking_dir(path, obj, sizeof(obj))) {
        perm = 'x';
        verb = "enter";
    } else if (write && stat(path, &st) != 0 && errno == ENOENT) {
        /* creating it: the directory must be writable */
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) : 0;
        if (!slash || n >= sizeof(obj))
            goto out;
        memcpy(obj, path, n ? n : 1);
        obj[n ? n : 1] = '\0';
    } else {
        snprintf(obj, sizeof(obj), "%s", path);
    }
    if (stat(obj, &st) != 0)
        goto out;

    char user[64], owner[64], group[64];
    user_name(geteuid(), user, sizeof(user));
    user_name(st.st_uid, owner, sizeof(owner));
    group_name(st.st_gid, group, sizeof(group));
    int shift = perm == 'r' ? 2 : perm == 'w' ? 1 : 0; /* the bit in rwx */
    bool owner_may = st.st_mode & (S_IXUSR << shift), group_may = st.st_mode & (S_IXGRP << shift);
    bool mine = st.st_uid == geteuid(), ours = in_group(st.st_gid);
    if ((mine && owner_may) || (!mine && ours && group_may))
        goto out; /* the mode allows it: an ACL or a security module refused, not ours to say */
    const char *what = strcmp(obj, path) == 0 ? "it" : obj;
    int n = snprintf(buf, len, " (%s is %04o %s:%s", what, (unsigned)(st.st_mode & 07777), owner,
                     group);
    if (n < 0 || (size_t)n >= len)
        goto out;
    char *p = buf + n;
    size_t left = len - (size_t)n;
    if (mine)
        snprintf(p, left, ": chmod u+%c %s)", perm, obj);
    else if (ours) /* what an older devid's 0600 files do to the other members */
        snprintf(p, left, ", its group may not %s it: chmod g+%c %s)", verb, perm, obj);
    else if (group_may)
        snprintf(p, left,
                 " and this user, %s, is not in the group %s: usermod -aG %s %s, then "
                 "start the service again)",
                 user, group, group, user);
    else
        snprintf(p, left,
                 ", only %s may %s it: chgrp GROUP %s; chmod g+%c %s, GROUP being "
                 "the group of devid's users)",
                 owner, verb, obj, perm, obj);
out:
    errno = saved;
}
