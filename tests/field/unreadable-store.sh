#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Fail closed: a user who cannot read the store cannot tell whether PINs are set, so the token
# keeps requiring a login and private objects (the factory IDevID's key too) stay behind it;
# the reason is logged at warn. Root, who can read the store (no PINs set), sees no change.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
source "$here/users.sh"

outsider=dvo$test_user_id
add_user "$outsider"
store=$work/store
mkdir -m 0700 "$store"
printf 'store = %s\n' "$store" >"$work/devid.conf"
chmod 0644 "$work/devid.conf"
export DEVID_CONF=$work/devid.conf DEVID_STORE=$store

p11 --list-token-slots >"$work/root-slots" 2>&1
check_match "root: the token (PINs not set)" "token label +: DevID" cat "$work/root-slots"
check "root: no login required" bash -c '! grep -q "login required" "$1"' _ "$work/root-slots"
check_match "root lists the IDevID's private key without a login" "Private Key Object" \
    p11 --list-objects --type privkey

o_p11() { as_user "$outsider" "${tool_env[@]}" env DEVID_LOG=warn pkcs11-tool --module "$M" "$@"; }
o_p11 --list-token-slots >"$work/o-slots" 2>&1 || true
check_match "outsider: the token requires a login" "login required" cat "$work/o-slots"
check_match "outsider: the reason at warn" "cannot tell whether PINs are set.*Permission denied" \
    cat "$work/o-slots"
if o_p11 --list-objects --type privkey 2>/dev/null | grep -q "Private Key Object"; then
    bad "outsider lists private keys without logging in"
else
    ok "outsider does not list private keys without logging in"
fi

summary unreadable-store
