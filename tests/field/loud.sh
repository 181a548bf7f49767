#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Loud when broken: no TPM device, a device this user may not open, a bad config. Each is a
# distinct message with its fix (not tpm2-tss's "IO failure", not blamed on the EK); the
# PKCS#11 module says why once in syslog at LOG_WARNING, however often it is called;
# devid-enroll --json prints JSON for errors too. Runs in a private mount namespace whose
# /dev/log is a test syslog sink (needs root, like the other tests that create users).
# usage (under with-swtpm ecc): loud.sh BUILD_ROOT
here=$(cd "$(dirname "$0")" && pwd)
if [[ -z ${DEVID_LOUD_NS:-} ]]; then
    if [[ $(id -u) != 0 ]] || ! unshare -m true 2>/dev/null; then
        echo "SKIP: needs root and mount namespaces (unshare -m)"
        exit 77
    fi
    DEVID_LOUD_NS=1 exec unshare -m --propagation private "$0" "$@"
fi
source "$here/../pkcs11/lib.sh"
source "$here/users.sh"
build=$1
enroll=$build/enroll/devid-enroll
unset DEVID_LOG

# /dev with a syslog socket of our own
mkdir "$work/dev"
mount -t tmpfs -o mode=0755 devtest "$work/dev"
for n in null zero random urandom; do cp -a "/dev/$n" "$work/dev/$n"; done
"$build/tests/field/syslog-sink" "$work/dev/log" "$work/syslog" >"$work/sink.out" &
sink=$!
trap 'kill $sink 2>/dev/null; umount -l /dev 2>/dev/null; umount -l "$work/dev"; remove_users; rm -rf "$work"' EXIT
until grep -q READY "$work/sink.out"; do kill -0 $sink || exit 99; sleep 0.05; done
chmod 0666 "$work/dev/log"
# syslog_synced: once the sink has written every message sent so far. A tool that logged and
# exited may be gone before the sink was scheduled to write its line; datagrams on one socket
# arrive in order, so when a marker sent now is in the file, so is everything before it.
sync_n=0
syslog_synced() {
    sync_n=$((sync_n + 1))
    logger -u "$work/dev/log" "devid-test-sync-$sync_n" || return 1
    until grep -q "devid-test-sync-$sync_n\$" "$work/syslog"; do
        kill -0 $sink || return 1
        sleep 0.05
    done
}
mount --bind "$work/dev" /dev

user=dvl$test_user_id
add_user "$user"
printf 'trust_anchors = %s\n' "$pki/trust.pem" >"$work/devid.conf"
chmod 0644 "$work/devid.conf"
export DEVID_CONF=$work/devid.conf

# no device
export DEVID_TCTI=device:$work/no-such-tpm
rc=0
"$enroll" status >"$work/out" 2>&1 || rc=$?
check "no device: exit 3" test $rc -eq 3
check_match "no device: says so, with the fix" "$work/no-such-tpm does not exist.*tpm_tis" \
    cat "$work/out"
check "not blamed on the EK, not tpm2-tss's words" sh -c "! grep -Eq 'EK:|IO failure' $work/out"
rc=0
"$enroll" --json status >"$work/json" 2>/dev/null || rc=$?
check_match "--json status without a TPM: JSON with the error" "does not exist" \
    jq -er '.error' "$work/json"
check_match "--json: the exit code in it" "^3$" jq -er '.exit_code' "$work/json"

# a device this user may not open
touch "$work/tpm"
chmod 0600 "$work/tpm"
rc=0
DEVID_TCTI=device:$work/tpm as_user "$user" "$enroll" status >"$work/out" 2>&1 || rc=$?
check "permission denied: exit 3" test $rc -eq 3
check_match "permission denied: says so, with the fix" "permission denied on $work/tpm: add the user to group tss" \
    cat "$work/out"

# the PKCS#11 module without a TPM: the token is gone, the reason in syslog, once
: >"$work/syslog"
for _ in 1 2 3; do p11 --list-slots >/dev/null 2>&1 || true; done
syslog_synced
check_match "module without a TPM: the reason in syslog" "devid: no TPM device: .*does not exist" \
    cat "$work/syslog"
check_match "at LOG_WARNING (priority 12 = user.warning)" "^<12>" cat "$work/syslog"
check "once per process (three processes, three lines)" \
    test "$(grep -c 'no TPM device' "$work/syslog")" -eq 3
: >"$work/syslog"
p11 --list-slots --list-objects --list-mechanisms >/dev/null 2>&1 || true
syslog_synced
check "one process calling many times: one line" \
    test "$(grep -c 'no TPM device' "$work/syslog")" -eq 1
unset DEVID_TCTI

# the PKCS#11 module with a typo in devid.conf: C_Initialize fails, the reason in syslog
printf 'trust_anchors = %s\ntoken_lable = x\n' "$pki/trust.pem" >"$work/bad.conf"
: >"$work/syslog"
DEVID_CONF=$work/bad.conf p11 --list-slots >/dev/null 2>&1 || true
syslog_synced
check_match "bad config: file:line and the key in syslog" "bad.conf:2: unknown key 'token_lable'" \
    cat "$work/syslog"
rc=0
DEVID_CONF=$work/bad.conf "$enroll" --json status >"$work/json" 2>/dev/null || rc=$?
check_match "--json with a bad config: JSON" "bad.conf:2: unknown key" jq -er '.error' "$work/json"
check "... exit 2" test $rc -eq 2

summary loud
