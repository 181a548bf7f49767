/* SPDX-License-Identifier: Apache-2.0 */
/* devid_store_parse_attrs (core/store.h): a store object's attribute file
 * ("label=<percent-encoded>", "id=<hex>", "public_hidden=0|1", the own names of the public key
 * and the certificate "public_label=", "public_id=", "cert_label=", "cert_id=", the flags
 * "token_bound=", "secret=", "value_len=", a data object's "private=", "application=",
 * "object_id=", '#' comments).
 *
 * Properties: the labels and the application are NUL-terminated within their buffers, the id
 * lengths within DEVID_ID_MAX, the object id's within DEVID_OID_MAX; an own name is never the group's; accepted attributes written back in the file
 * format (every label byte percent-encoded) parse to the same attributes. */
#include "fuzz.h"

#include "store.h"

#include <string.h>

static size_t put_name(char *out, size_t cap, size_t n, const char *prefix, const char *label,
                       const unsigned char *id, size_t id_len)
{
    n += (size_t)snprintf(out + n, cap - n, "%slabel=", prefix);
    for (const unsigned char *p = (const unsigned char *)label; *p; p++)
        n += (size_t)snprintf(out + n, cap - n, "%%%02x", *p);
    n += (size_t)snprintf(out + n, cap - n, "\n%sid=", prefix);
    for (size_t i = 0; i < id_len; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02X", id[i]);
    n += (size_t)snprintf(out + n, cap - n, "\n");
    return n;
}

static char *encode(const devid_store_attrs *a)
{
    /* 3 bytes per label byte and 2 per id byte, three names, plus the keys. */
    size_t cap = 3 * (3 * sizeof(a->label) + 2 * sizeof(a->id)) + 3 * sizeof(a->application) +
                 2 * sizeof(a->object_id) + 256,
           n = 0;
    char *out = malloc(cap);
    FUZZ_ASSERT(out, "malloc");
    n += (size_t)snprintf(out + n, cap - n, "# fuzz\n");
    n = put_name(out, cap, n, "", a->label, a->id, a->id_len);
    if (a->pub.own)
        n = put_name(out, cap, n, "public_", a->pub.label, a->pub.id, a->pub.id_len);
    if (a->cert.own)
        n = put_name(out, cap, n, "cert_", a->cert.label, a->cert.id, a->cert.id_len);
    n += (size_t)snprintf(out + n, cap - n, "public_hidden=%d\n", a->public_hidden);
    if (a->token_bound)
        n += (size_t)snprintf(out + n, cap - n, "token_bound=1\n");
    n += (size_t)snprintf(out + n, cap - n, "secret=%d\n", a->secret);
    if (a->value_len)
        n += (size_t)snprintf(out + n, cap - n, "value_len=%zu\n", a->value_len);
    n += (size_t)snprintf(out + n, cap - n, "private=%d\napplication=", a->data_private);
    for (const unsigned char *p = (const unsigned char *)a->application; *p; p++)
        n += (size_t)snprintf(out + n, cap - n, "%%%02x", *p);
    n += (size_t)snprintf(out + n, cap - n, "\nobject_id=");
    for (size_t i = 0; i < a->object_id_len; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", a->object_id[i]);
    n += (size_t)snprintf(out + n, cap - n, "\n");
    FUZZ_ASSERT(n < cap, "encoding overflow");
    return out;
}

static bool same_name(const devid_store_name *x, const devid_store_name *y)
{
    return x->own == y->own &&
           (!x->own || (strcmp(x->label, y->label) == 0 && x->id_len == y->id_len &&
                        memcmp(x->id, y->id, x->id_len) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    devid_store_attrs a;
    memset(&a, 0xa5, sizeof(a));
    devid_rc rc = devid_store_parse_attrs((const char *)data, size, &a);
    if (rc != DEVID_OK) {
        FUZZ_ASSERT(rc == DEVID_ERR_FORMAT || rc == DEVID_ERR_MEMORY, "rc %s", devid_rc_name(rc));
        return 0;
    }
    FUZZ_ASSERT(memchr(a.label, '\0', sizeof(a.label)), "label not terminated");
    FUZZ_ASSERT(a.id_len <= DEVID_ID_MAX, "id_len %zu", a.id_len);
    FUZZ_ASSERT(memchr(a.application, '\0', sizeof(a.application)), "application not terminated");
    FUZZ_ASSERT(a.object_id_len <= DEVID_OID_MAX, "object_id_len %zu", a.object_id_len);
    for (int k = 0; k < 2; k++) {
        const devid_store_name *nm = k ? &a.cert : &a.pub;
        if (!nm->own)
            continue;
        FUZZ_ASSERT(memchr(nm->label, '\0', sizeof(nm->label)), "own label not terminated");
        FUZZ_ASSERT(nm->id_len <= DEVID_ID_MAX, "own id_len %zu", nm->id_len);
        FUZZ_ASSERT(strcmp(nm->label, a.label) || nm->id_len != a.id_len ||
                        memcmp(nm->id, a.id, a.id_len),
                    "an own name equal to the group's");
    }

    char *text = encode(&a);
    devid_store_attrs b;
    memset(&b, 0x5a, sizeof(b));
    FUZZ_ASSERT(devid_store_parse_attrs(text, strlen(text), &b) == DEVID_OK,
                "re-encoded attributes rejected: %s\n%s", devid_last_error(), text);
    FUZZ_ASSERT(strcmp(a.label, b.label) == 0, "label changed");
    FUZZ_ASSERT(a.id_len == b.id_len && memcmp(a.id, b.id, a.id_len) == 0, "id changed");
    FUZZ_ASSERT(a.public_hidden == b.public_hidden, "public_hidden changed");
    FUZZ_ASSERT(same_name(&a.pub, &b.pub) && same_name(&a.cert, &b.cert), "own names changed");
    FUZZ_ASSERT(a.token_bound == b.token_bound && a.secret == b.secret &&
                    a.value_len == b.value_len && a.data_private == b.data_private,
                "flags changed");
    FUZZ_ASSERT(strcmp(a.application, b.application) == 0, "application changed");
    FUZZ_ASSERT(a.object_id_len == b.object_id_len &&
                    memcmp(a.object_id, b.object_id, a.object_id_len) == 0,
                "object_id changed");
    free(text);
    return 0;
}
