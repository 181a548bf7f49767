/* SPDX-License-Identifier: Apache-2.0 */
/* devid-enroll run: the renewal daemon. A renewal pass, then sleep until the next due time
 * or --interval, whichever is sooner, until SIGTERM or SIGINT. */
#include "service.h"

#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int cmd_run(const enroll_options *opt, int argc, char **argv)
{
    service_args a;
    int ec = service_parse_args("run", &argc, &argv, &a);
    if (ec != EXIT_HEALTHY)
        return ec;
    due_notes notes = { .n = 0 };
    a.notes = &notes;
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    if (!getenv("DEVID_LOG_STDERR"))
        devid_log_use_syslog("devid-enroll");
    bool idevid_revoked = false;
    a.idevid_revoked = &idevid_revoked;
    while (!stop) {
        time_t next = 0;
        /* Only a revoked IDevID ends the daemon (the pass said why). A pass's other
         * results, a broken or failed identity among them (also exit 1 of renew), are
         * said by the pass and tried again at the next one. */
        renew_pass(opt, &a, argc, argv, &next);
        fflush(stdout);
        if (idevid_revoked)
            return EXIT_ATTENTION;
        time_t now = time(NULL);
        long wait = a.interval;
        if (next > now && next - now < wait)
            wait = (long)(next - now);
        devid_log(DEVID_LOG_DEBUG, "renewal pass done, next in %ld s", wait);
        for (long s = 0; s < wait && !stop; s++)
            sleep(1);
    }
    return EXIT_HEALTHY;
}
