#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Orphaned TPM objects (core/tpm_users.h), on swtpm over TCP (no resource manager: every
# connection sees every transient object). Two processes at once: a signer with its store key
# loaded, signing in a loop, and a flusher running the path that frees a slot when the TPM is
# full and nothing of its own is loaded. The flusher must not flush the signer's object (the
# signer would have to reload it on a new connection, or sign with whatever key a reused handle
# names); the object of a crashed run (SIGKILL) is still flushed.
# usage (under with-swtpm ecc): orphans.sh ORPHANS
set -uo pipefail
orphans=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/devid-orphans.XXXXXX")
trap 'rm -rf "$work"' EXIT
. "$(dirname "$0")/../lib/check.sh"

check "two store keys" "$orphans" keygen orph-a orph-b
n0=$("$orphans" transient)
check "no transient object to begin with ($n0)" test "$n0" -eq 0

out=$work/signer.out
"$orphans" signer orph-a "$work/stop" >"$out" 2>&1 &
signer=$!
for _ in $(seq 200); do grep -q loaded "$out" && break; sleep 0.05; done
check "the signer has its key loaded" grep -q loaded "$out"
flushed=$(DEVID_LOG=warn "$orphans" flusher 2 2>&1)
touch "$work/stop" # the signer was connected, its key loaded, all the flusher's time
wait "$signer"; rc=$?
check "a flusher running beside a signer frees nothing of it ($flushed)" \
    grep -q "freed a slot 0 time" <<<"$flushed"
check "... and says why, once" test "$(grep -c "another devid process is connected" <<<"$flushed")" -eq 1
check "the signer's key was never flushed under it: no reload, no failure ($(cat "$out"))" \
    test $rc -eq 0

# a crashed run's object is an orphan: flushed when nobody else is connected
"$orphans" crash orph-b
n1=$("$orphans" transient)
check "a crashed run left its object loaded ($n1)" test "$n1" -ge 1
flushed=$("$orphans" flusher 1)
check "... the flusher frees it ($flushed)" bash -c '! grep -q "freed a slot 0 time" <<<"$1"' _ "$flushed"
n2=$("$orphans" transient)
check "... and the TPM has no transient object left ($n2)" test "$n2" -eq 0
summary orphans
