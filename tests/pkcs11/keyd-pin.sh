#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Gives the token an SO PIN and the user PIN 1234 through pkcs11-tool (C_InitToken,
# C_InitPIN, as an owner would), then runs the command given (the keyd replay in its `pin`
# mode, where keyd logs in with that PIN).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

if ! p11 --init-token --label DevID --so-pin 87654321 >"$work/init.out" 2>&1 ||
    ! p11 --init-pin --pin 1234 --so-pin 87654321 >>"$work/init.out" 2>&1; then
    echo "FAIL: setting the PINs" >&2
    cat "$work/init.out" >&2
    exit 1
fi
"$@"
