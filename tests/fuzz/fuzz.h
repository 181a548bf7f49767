/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the fuzz targets (fuzz_<name>.c) and the standalone replay driver (driver.c). */
#ifndef DEVID_FUZZ_H
#define DEVID_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The libFuzzer entry points. A target defines LLVMFuzzerTestOneInput and, if it needs
 * one-time setup, LLVMFuzzerInitialize. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the target checks on top of "no crash": a violation aborts, which libFuzzer
 * and the replay driver both report as a crash with this message. */
#define FUZZ_ASSERT(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property violated: %s: ", __FILE__, __LINE__, #cond);          \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
