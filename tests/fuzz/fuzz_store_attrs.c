/* devid_store_parse_attrs (core/store.h): a store object's attribute file
 * ("label=<percent-encoded>", "id=<hex>", "public_hidden=0|1", '#' comments).
 *
 * Properties: the label is NUL-terminated within its buffer and id_len within DEVID_ID_MAX;
 * accepted attributes written back in the file format (every label byte percent-encoded)
 * parse to the same attributes. */
#include "fuzz.h"

#include "store.h"

#include <string.h>

static char *encode(const devid_store_attrs *a)
{
    /* 3 bytes per label byte and 2 per id byte, plus the keys. */
    size_t cap = 3 * sizeof(a->label) + 2 * sizeof(a->id) + 64, n = 0;
    char *out = malloc(cap);
    FUZZ_ASSERT(out, "malloc");
    n += (size_t)snprintf(out + n, cap - n, "# fuzz\nlabel=");
    for (const unsigned char *p = (const unsigned char *)a->label; *p; p++)
        n += (size_t)snprintf(out + n, cap - n, "%%%02x", *p);
    n += (size_t)snprintf(out + n, cap - n, "\nid=");
    for (size_t i = 0; i < a->id_len; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02X", a->id[i]);
    n += (size_t)snprintf(out + n, cap - n, "\npublic_hidden=%d\n", a->public_hidden);
    FUZZ_ASSERT(n < cap, "encoding overflow");
    return out;
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

    char *text = encode(&a);
    devid_store_attrs b;
    memset(&b, 0x5a, sizeof(b));
    FUZZ_ASSERT(devid_store_parse_attrs(text, strlen(text), &b) == DEVID_OK,
                "re-encoded attributes rejected: %s\n%s", devid_last_error(), text);
    FUZZ_ASSERT(strcmp(a.label, b.label) == 0, "label changed");
    FUZZ_ASSERT(a.id_len == b.id_len && memcmp(a.id, b.id, a.id_len) == 0, "id changed");
    FUZZ_ASSERT(a.public_hidden == b.public_hidden, "public_hidden changed");
    free(text);
    return 0;
}
