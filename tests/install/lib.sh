# shellcheck shell=bash
# Shared by the install tests: check/finish counters (TAP-free: meson reads the exit status).
pass=0
fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@" >/dev/null 2>"${TMPDIR:-/tmp}/.check.$$"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: $what" >&2
        sed 's/^/    /' "${TMPDIR:-/tmp}/.check.$$" >&2
    fi
    rm -f "${TMPDIR:-/tmp}/.check.$$"
}
finish() {
    echo "${0##*/}: $pass passed, $fail failed"
    [[ $fail -eq 0 && $pass -gt 0 ]]
}
