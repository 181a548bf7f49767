/* SPDX-License-Identifier: Apache-2.0 */
#include "factory_record.h"
#include "csr_attest.h"

#include "devid.h"
#include "fsutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RECORD_DIR "factory-attested"

/* The configuration file's directory ("." for a bare file name). */
static bool conf_dir(char *dir, size_t n)
{
    const char *conf = devid_core_config()->path;
    const char *slash = conf ? strrchr(conf, '/') : NULL;
    if (!conf)
        return false;
    if (!slash)
        return (size_t)snprintf(dir, n, ".") < n;
    size_t len = slash == conf ? 1 : (size_t)(slash - conf);
    return len < n && snprintf(dir, n, "%.*s", (int)len, conf) >= 0;
}

static bool record_path(X509 *cert, char *conf, char *dir, char *path, size_t n)
{
    char hex[CSR_ATTEST_ID_LEN + 1];
    return conf_dir(conf, n) && csr_attest_cert_id(cert, hex) &&
           (size_t)snprintf(dir, n, "%s/%s", conf, RECORD_DIR) < n &&
           (size_t)snprintf(path, n, "%s/%s", dir, hex) < n;
}

devid_rc factory_record_check(void)
{
    char conf[4096];
    if (!conf_dir(conf, sizeof(conf)))
        return devid_fail(DEVID_ERR_INTERNAL, "the configuration's directory");
    if (access(conf, W_OK) != 0)
        return devid_fail(DEVID_ERR_CONFIG,
                          "the attested exchange records its certificates "
                          "beside the configuration, in %s/%s: %s: %s",
                          conf, RECORD_DIR, conf, strerror(errno));
    return DEVID_OK;
}

devid_rc factory_record_write(X509 *cert)
{
    char conf[4096], dir[4096], path[4096];
    if (!record_path(cert, conf, dir, path, sizeof(path)))
        return devid_fail(DEVID_ERR_INTERNAL, "the factory record's path");
    devid_rc rc = devid_ensure_dir(dir, 0755); /* readable by status as any user */
    if (rc == DEVID_OK)
        rc = devid_write_file_atomic(path, "", 0, 0644);
    return rc;
}

/* A directory only its owner can write in. */
static bool owner_only(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

bool factory_record_exists(X509 *cert)
{
    char conf[4096], dir[4096], path[4096];
    struct stat st;
    if (!record_path(cert, conf, dir, path, sizeof(path)) || lstat(path, &st) != 0 ||
        !S_ISREG(st.st_mode))
        return false;
    if (owner_only(conf) && owner_only(dir))
        return true;
    devid_warn("%s: ignored: %s or %s may be written by others", path, conf, dir);
    return false;
}
