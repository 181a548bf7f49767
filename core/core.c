/* SPDX-License-Identifier: Apache-2.0 */
#include "core.h"
#include "log.h"
#include "token.h"
#include "tpm.h"

#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t core_mutex = PTHREAD_MUTEX_INITIALIZER;
static unsigned init_count;
static devid_config *config;

/* tpm2-tss 3.x logs its own warnings to stderr (e.g. for every absent handle we probe) and has
 * no API to redirect them; its only switch is TSS2_LOG, read when it first logs. Unless the
 * user set it, make it follow our level: silent unless devid logs at debug. */
static void quiet_tss2_log(devid_log_level level)
{
    if (!getenv("TSS2_LOG"))
        setenv("TSS2_LOG", level >= DEVID_LOG_DEBUG ? "all+WARNING" : "all+NONE", 0);
}

devid_rc devid_core_init(void)
{
    return devid_core_init_with(NULL);
}

devid_rc devid_core_init_with(const devid_settings *settings)
{
    pthread_mutex_lock(&core_mutex);
    devid_rc rc = DEVID_OK;
    if (init_count > 0 && settings)
        devid_debug("core already initialised: %s settings not used",
                    settings->origin ? settings->origin : "host");
    if (init_count == 0) {
        rc = devid_config_load(settings, &config);
        /* The caller reports devid_last_error(); a host that swallows it (a PKCS#11 consumer
         * whose token just disappears) still leaves the reason in syslog, once. */
        if (rc != DEVID_OK)
            devid_log_unusable("%s", devid_last_error());
        if (rc == DEVID_OK) {
            devid__log_set_level(config->log_level);
            quiet_tss2_log(config->log_level);
        }
    }
    if (rc == DEVID_OK)
        init_count++;
    pthread_mutex_unlock(&core_mutex);
    return rc;
}

void devid_core_fini(void)
{
    pthread_mutex_lock(&core_mutex);
    if (init_count > 0 && --init_count == 0) {
        devid_token_logout();
        devid_tpm_disconnect();
        devid_config_free(config);
        config = NULL;
    }
    pthread_mutex_unlock(&core_mutex);
}

const devid_config *devid_core_config(void)
{
    return config;
}
