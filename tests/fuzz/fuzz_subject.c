/* SPDX-License-Identifier: Apache-2.0 */
/* enroll_subject_parse (enroll/subject.h): devid-enroll's --subject, RFC 4514 distinguished
 * names or the slash form.
 *
 * Properties: an accepted subject has at least one entry, every entry with a value, and prints
 * (UTF-8, RFC 4514 escaped) without failing; a refused one leaves no name and a message. */
#include "fuzz.h"

#include "subject.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    X509_NAME *name = NULL;
    devid_rc rc = enroll_subject_parse(text, &name);
    if (rc == DEVID_OK) {
        FUZZ_ASSERT(name && X509_NAME_entry_count(name) > 0, "accepted an empty name");
        for (int i = 0; i < X509_NAME_entry_count(name); i++)
            FUZZ_ASSERT(ASN1_STRING_length(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i))) >
                            0,
                        "entry %d has no value", i);
        char out[8192];
        enroll_subject_to_string(name, out, sizeof(out));
        FUZZ_ASSERT(out[0] != '\0', "an accepted name printed as nothing");
    } else {
        FUZZ_ASSERT(name == NULL, "a refused subject left a name");
        FUZZ_ASSERT(devid_last_error()[0] != '\0', "refused without a message");
    }
    X509_NAME_free(name);
    free(text);
    return 0;
}
