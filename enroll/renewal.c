/* SPDX-License-Identifier: Apache-2.0 */
#include "renewal.h"

#include <openssl/asn1.h>

static time_t asn1_to_time(const ASN1_TIME *t)
{
    struct tm tm;
    if (ASN1_TIME_to_tm(t, &tm) != 1)
        return (time_t)-1;
    return timegm(&tm);
}

time_t renewal_due(const X509 *cert, long threshold, long jitter, double r)
{
    time_t from = asn1_to_time(X509_get0_notBefore(cert));
    time_t to = asn1_to_time(X509_get0_notAfter(cert));
    if (from == (time_t)-1 || to == (time_t)-1 || to < from)
        return (time_t)-1;
    double life = (double)(to - from);
    double share = ((double)threshold + r * (double)jitter) / 100.0;
    if (share > 1.0)
        share = 1.0;
    return from + (time_t)(life * share);
}
