/* SPDX-License-Identifier: Apache-2.0 */
#include "tpm_diag.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <tss2/tss2_rc.h>
#include <unistd.h>

void devid_tpm_device_problem(const char *path, int err, char *msg, size_t len)
{
    switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        snprintf(msg, len,
                 "no TPM device: %s does not exist (enable the TPM in the firmware "
                 "and load its kernel driver, tpm_tis or tpm_crb; or set tcti in devid.conf "
                 "for a TPM reached otherwise)",
                 path);
        break;
    case EACCES:
    case EPERM:
        snprintf(msg, len,
                 "permission denied on %s: add the user to group tss (usermod -aG "
                 "tss USER, then log in again; for a service, SupplementaryGroups=tss)",
                 path);
        break;
    case EBUSY:
        snprintf(msg, len,
                 "%s is busy: another process has it open and the kernel allows "
                 "only one (use /dev/tpmrm0, the kernel's resource manager, in tcti)",
                 path);
        break;
    default:
        snprintf(msg, len, "cannot open %s: %s", path, strerror(err));
    }
}

/* The device node a device TCTI string names, or NULL for other TCTIs. */
static const char *device_of(const char *conf)
{
    if (strcmp(conf, "device") == 0 || strcmp(conf, "device:") == 0)
        return "/dev/tpmrm0"; /* tpm2-tss's default for the device TCTI */
    if (strncmp(conf, "device:", 7) == 0)
        return conf + 7;
    if (conf[0] == '/')
        return conf; /* (a bare path is a device TCTI too) */
    return NULL;
}

/* Opens path as the TCTI would and says why it fails; false if it opens. */
static bool probe(const char *path, char *msg, size_t len)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    devid_tpm_device_problem(path, errno, msg, len);
    return true;
}

devid_rc devid_tpm_connect_failed(const char *conf, TSS2_RC rc)
{
    char msg[512];
    const char *dev = conf ? device_of(conf) : NULL;
    if (dev) {
        if (!probe(dev, msg, sizeof(msg)))
            snprintf(msg, sizeof(msg), "the TPM device %s opens but does not answer: %s", dev,
                     Tss2_RC_Decode(rc));
    } else if (!conf) {
        /* devid's own search: /dev/tpmrm0, /dev/tpm0, then a local simulator */
        bool rm = access("/dev/tpmrm0", F_OK) == 0, raw = access("/dev/tpm0", F_OK) == 0;
        if (rm || raw)
            probe(rm ? "/dev/tpmrm0" : "/dev/tpm0", msg, sizeof(msg));
        else
            snprintf(msg, sizeof(msg),
                     "no TPM device: neither /dev/tpmrm0 nor /dev/tpm0 exists "
                     "(enable the TPM in the firmware and load its kernel driver, tpm_tis or "
                     "tpm_crb; or set tcti in devid.conf, e.g. swtpm:host=127.0.0.1,port=2321)");
    } else {
        snprintf(msg, sizeof(msg),
                 "no TPM reachable through TCTI '%s': %s (is the simulator "
                 "or resource manager it names running?)",
                 conf, Tss2_RC_Decode(rc));
    }
    devid_log_unusable("%s", msg);
    return devid_fail(DEVID_ERR_NO_TPM, "%s", msg);
}
