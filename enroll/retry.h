/* SPDX-License-Identifier: Apache-2.0 */
/* Retrying EST requests: 202 + Retry-After is honoured (capped), time-outs, 5xx and
 * connection trouble back off exponentially with jitter, so a fleet recovering from an outage
 * does not hit the server in lockstep. Definitive failures (TLS verification, a refused client
 * certificate, 401, other 4xx, bad replies, redirects) are not retried: a refused password
 * tried again counts against an account lockout (est.h has the one exception, a scheme the
 * server asks for that was not tried, made inside the request). */
#ifndef DEVID_RETRY_H
#define DEVID_RETRY_H

#include "est.h"

typedef struct est_retry_policy {
    unsigned max_attempts; /* total requests, >= 1 (default 8) */
    long base_ms;          /* first back-off (default 2000) */
    long cap_ms;           /* largest back-off (default 300000) */
    long max_wait_ms;      /* largest Retry-After honoured (default 3600000) */
} est_retry_policy;

/* Fills unset (zero) fields with the defaults. */
void est_retry_defaults(est_retry_policy *p);

/* Back-off before attempt n+1 after n failures (n >= 1), with jitter r in [0,1):
 * d = min(cap, base * 2^(n-1)); wait d/2 + r * d/2 ("equal jitter"). */
long est_backoff_ms(const est_retry_policy *p, unsigned failures, double r);

/* One attempt: fills *reply (DEVID_OK when classified, an error for local failures). */
typedef devid_rc (*est_attempt_fn)(void *arg, est_reply *reply);

/* Runs attempts until one is done or definitively failed (EST_FAILED, EST_REFUSED,
 * EST_UNAUTHORIZED) or
 * attempts run out, waiting per policy in between; the last reply is left in *reply. `what`
 * names the request in logs. */
devid_rc est_retry_run(const est_retry_policy *policy, const char *what, est_attempt_fn attempt,
                       void *arg, est_reply *reply);

/* Runs the request until it is done or definitively failed or attempts run out; the last
 * reply is left in *reply. */
devid_rc est_request_retry(const est_client_cfg *cfg, const est_retry_policy *policy, est_op op,
                           const unsigned char *csr, size_t csr_len, est_reply *reply);

#endif
