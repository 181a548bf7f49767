#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# devid-enroll run says "NAME: not due until ..." once per due time, not once per pass (a daemon
# checking hourly for a year would otherwise write 8760 identical lines to the journal).
# A broken service identity (its chain file without key or certificate: renew's exit 1) is said
# at every pass and does not end the daemon: only a revoked IDevID does.
# usage (under with-swtpm ecc: its LDevID is valid and not due): daemon-log.sh BUILD_DIR
set -uo pipefail
build=$(cd "$1" && pwd)
work=$DEVID_FIXTURE/daemon
mkdir -p "$work"
fail=0
cp "$DEVID_FIXTURE/pki/owner-ca.pem" "$DEVID_STORE/ghost-chain.pem" # nothing behind it: broken
# debug lines (stderr) mark each finished pass; the "not due" lines go to stdout
DEVID_LOG=debug DEVID_LOG_STDERR=1 OPENSSL_MODULES=$build/ossl-provider \
    "$build/enroll/devid-enroll" --server https://localhost:9 run --interval 1 \
    >"$work/out" 2>"$work/err" &
pid=$!
passes=0
for _ in $(seq 600); do # until three passes are done (no time limit on the daemon itself)
    passes=$(grep -c 'renewal pass done' "$work/err")
    [[ $passes -ge 3 ]] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -TERM $pid
wait $pid
rc=$?
lines=$(grep -c '^LDevID: not due until' "$work/out")
echo "passes: $passes, 'not due' lines: $lines, exit: $rc"
[[ $passes -ge 3 ]] || { echo "FAIL: the daemon did not make three passes" >&2; cat "$work/err" >&2; fail=1; }
[[ $lines -eq 1 ]] || { echo "FAIL: 'LDevID: not due' said $lines times, not once" >&2; cat "$work/out" >&2; fail=1; }
[[ $rc -eq 0 ]] || { echo "FAIL: run exited $rc on SIGTERM" >&2; fail=1; }
broken=$(grep -c 'ghost: broken' "$work/err")
echo "'ghost: broken' said $broken times"
[[ $broken -ge 3 ]] || { echo "FAIL: the broken identity was not said at every pass" >&2; cat "$work/err" >&2; fail=1; }
rm -f "$DEVID_STORE/ghost-chain.pem"
exit $fail
