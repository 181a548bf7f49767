/* SPDX-License-Identifier: Apache-2.0 */
/* Superseded by tests/lib/devid_test.h (kept while the tests move over). */
#include "lib/devid_test.h"
