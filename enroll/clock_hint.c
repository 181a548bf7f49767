/* SPDX-License-Identifier: Apache-2.0 */
#include "clock_hint.h"

#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void clock_hint_append(char *buf, size_t size, long verify_error)
{
    switch (verify_error) {
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
        break;
    default:
        return;
    }
    char now[32] = "an unreadable time";
    time_t t = time(NULL);
    struct tm tm;
    if (t != (time_t)-1 && gmtime_r(&t, &tm))
        strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
    size_t n = strnlen(buf, size);
    if (n + 1 >= size)
        return;
    snprintf(buf + n, size - n,
             " -- judged by this device's clock, which reads %s; if that is wrong, the clock "
             "needs setting (a device without a battery-backed clock: its time service first)",
             now);
}
