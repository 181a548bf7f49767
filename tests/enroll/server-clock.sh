#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# An EST server certificate that fails verification on time (not yet valid, expired) is judged
# by this device's clock, which on a device without a battery-backed clock may be what is
# wrong: the error names the clock's reading and says to set it. Exit 4 (failed, not retried),
# nothing stored, and no request (so no secret) reached the server. An issued certificate that
# has expired gets the same hint. A certificate from a CA the device does not trust is a
# different failure: no clock hint there.
# usage (under with-swtpm ecc): server-clock.sh BUILD_DIR
set -uo pipefail
. "$(dirname "$0")/lib.sh" "$1"
absent() { test "$(count_label "$1")" -eq 0 && test "$(count_label "$1.pending")" -eq 0; }
# requests the server's log recorded (none: the TLS handshake failed before any HTTP)
requests() { cat "$1" 2>/dev/null | jq -s '[.[] | select(.op != null)] | length'; }
hint="judged by this device's clock, which reads [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z; if that is wrong, the clock needs setting \\(a device without a battery-backed clock: its time service first\\)"

clock_case() { # clock_case NAME CURL_TEXT SERVER_ARGS...
    local name=$1 text=$2 log=$work/$1.log out rc
    shift 2
    factory_server --log "$log" "$@"
    local before after reading
    before=$(date -u +%s)
    out=$(enroll --server "$server" enroll "$name" 2>&1); rc=$?
    after=$(date -u +%s)
    est_server_stop
    check "$name: exit 4, failed and not retried ($out)" test $rc -eq 4
    check "... libcurl's text: $text" grep -q "$text" <<<"$out"
    check "... then the clock's reading and the hint" grep -Eq "$text -- $hint" <<<"$out"
    reading=$(grep -Eo 'reads [0-9T:-]+Z' <<<"$out" | head -1 | cut -d' ' -f2)
    reading=$(date -u -d "${reading:-none}" +%s 2>/dev/null || echo 0)
    check "... the reading is the clock's, in UTC (between $before and $after: $reading)" \
        test "$reading" -ge "$before" -a "$reading" -le "$after"
    check "... nothing stored" absent "$name"
    check "... no request reached the server (no credential sent)" test "$(requests "$log")" -eq 0
}
clock_case ahead-server "certificate is not yet valid" --server-cert-not-before-days 3
clock_case expired-server "certificate has expired" --server-cert-expired

# --- the issued certificate expired (by this clock): the same hint, nothing stored
owner_server --fault expired-chain --fault-on simpleenroll
out=$(enroll --server "$server" enroll expired-issued 2>&1); rc=$?
est_server_stop
check "issued certificate expired: exit 4 ($out)" test $rc -eq 4
check "... the issued certificate does not verify, then the hint" \
    grep -Eq "the issued certificate does not verify: certificate has expired -- $hint" <<<"$out"
check "... nothing stored" absent expired-issued

# --- a server certificate from a CA the device does not trust: no clock hint
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=stranger-ca \
    -days 30 -keyout "$work/stranger-ca.key" -out "$work/stranger-ca.pem" 2>/dev/null
est_server_start "$work" --ca-cert "$work/stranger-ca.pem" --ca-key "$work/stranger-ca.key" \
    --basic station:station-secret --header 'X-Station-Token: t0k3n' --log "$work/stranger.log"
out=$(enroll --server "https://localhost:$EST_PORT" enroll stranger 2>&1); rc=$?
est_server_stop
check "untrusted server certificate: exit 4 ($out)" test $rc -eq 4
check "... a verification failure" grep -q "SSL certificate problem" <<<"$out"
lacks() { ! grep -q "$1" <<<"$2"; }
check "... without the clock hint" lacks "device's clock" "$out"
check "... nothing stored" absent stranger
check "... no request reached the server" test "$(requests "$work/stranger.log")" -eq 0
summary server-clock
