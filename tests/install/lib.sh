# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the install tests: the check library (the caller sets work first) and finish, which
# also fails a test that checked nothing.
# shellcheck source=../lib/check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/check.sh"
finish() {
    summary "${0##*/}" && [[ $passed -gt 0 ]]
}
