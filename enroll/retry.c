/* SPDX-License-Identifier: Apache-2.0 */
#include "retry.h"
#include "log.h"

#include <openssl/rand.h>
#include <time.h>

void est_retry_defaults(est_retry_policy *p)
{
    if (!p->max_attempts)
        p->max_attempts = 8;
    if (p->base_ms <= 0)
        p->base_ms = 2000;
    if (p->cap_ms <= 0)
        p->cap_ms = 300000;
    if (p->max_wait_ms <= 0)
        p->max_wait_ms = 3600000;
}

long est_backoff_ms(const est_retry_policy *p, unsigned failures, double r)
{
    long d = p->base_ms;
    for (unsigned i = 1; i < failures && d < p->cap_ms; i++)
        d *= 2;
    if (d > p->cap_ms)
        d = p->cap_ms;
    return d / 2 + (long)(r * (double)(d / 2));
}

static double jitter(void)
{
    unsigned int r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned int)time(NULL);
    return (double)r / 4294967296.0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

devid_rc est_retry_run(const est_retry_policy *policy, const char *what, est_attempt_fn attempt,
                       void *arg, est_reply *reply)
{
    est_retry_policy p = *policy;
    est_retry_defaults(&p);
    unsigned failures = 0;
    for (unsigned n = 1;; n++) {
        devid_rc rc = attempt(arg, reply);
        if (rc != DEVID_OK)
            return rc;
        if (reply->outcome == EST_DONE || reply->outcome == EST_FAILED ||
            reply->outcome == EST_REFUSED || reply->outcome == EST_UNAUTHORIZED ||
            n >= p.max_attempts)
            return DEVID_OK;
        long wait;
        if (reply->outcome == EST_WAIT && reply->retry_after >= 0) {
            wait = reply->retry_after * 1000;
            if (wait > p.max_wait_ms)
                wait = p.max_wait_ms;
        } else {
            wait = est_backoff_ms(&p, ++failures, jitter());
        }
        devid_info("EST %s: %s (%s); attempt %u of %u in %ld ms", what,
                   est_outcome_name(reply->outcome), reply->detail, n + 1, p.max_attempts, wait);
        est_reply_clear(reply);
        sleep_ms(wait);
    }
}

typedef struct {
    const est_client_cfg *cfg;
    est_op op;
    const unsigned char *csr;
    size_t csr_len;
} plain_request;

static devid_rc plain_attempt(void *arg, est_reply *reply)
{
    const plain_request *r = arg;
    return est_request(r->cfg, r->op, r->csr, r->csr_len, reply);
}

devid_rc est_request_retry(const est_client_cfg *cfg, const est_retry_policy *policy, est_op op,
                           const unsigned char *csr, size_t csr_len, est_reply *reply)
{
    plain_request r = { cfg, op, csr, csr_len };
    return est_retry_run(policy, op == EST_CACERTS ? "cacerts" : "enroll", plain_attempt, &r,
                         reply);
}
