#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The user PIN's retry state in the token flags comes from the TPM's dictionary-attack
# counter (the PIN opens a DA-protected TPM object): with the fixture TPM set to lock after 3
# failures (tpm2_dictionarylockout), wrong PINs through pkcs11-tool show "user PIN count low",
# then "final user PIN try", then "user PIN locked", when even the right PIN is refused
# (CKR_PIN_LOCKED) until the lockout is cleared.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

so=87654321
user=1234
flags() { p11 --list-token-slots 2>/dev/null | grep 'token flags'; }

check "init token" p11 --init-token --label DevID --so-pin $so
check "init user PIN" p11 --init-pin --pin $user --so-pin $so
check "DA: 3 tries, slow healing" tpm2_dictionarylockout --setup-parameters \
    --max-tries=3 --recovery-time=600 --lockout-recovery-time=600
check "DA: counter cleared" tpm2_dictionarylockout --clear-lockout

# flags_without REGEX: the token's flags line is there and does not say REGEX
flags_without() {
    local line
    line=$(flags) || return 1
    echo "$line"
    ! grep -Eq -- "$1" <<<"$line"
}
pin_states='user PIN count low|final user PIN try|user PIN locked' # as pkcs11-tool names them
check "no failure: no PIN flags" flags_without "$pin_states"
check_fails "wrong PIN 1" "CKR_PIN_INCORRECT" p11 --login --pin 1111 --list-objects
check_match "one failure: count low" 'user PIN count low' p11 --list-token-slots
check "one failure: not the final try yet" flags_without 'final user PIN try'
check_fails "wrong PIN 2" "CKR_PIN_INCORRECT" p11 --login --pin 2222 --list-objects
check_match "two failures: final try" 'final user PIN try' p11 --list-token-slots
check_fails "wrong PIN 3" "CKR_PIN_" p11 --login --pin 3333 --list-objects
check_match "three failures: locked" 'user PIN locked' p11 --list-token-slots
check_fails "locked: the right PIN refused" "CKR_PIN_LOCKED" \
    p11 --login --pin $user --list-objects

check "DA: lockout cleared" tpm2_dictionarylockout --clear-lockout
check "cleared: no PIN flags" flags_without "$pin_states"
check "cleared: the right PIN works" p11 --login --pin $user --list-objects

summary "pkcs11-lockout-$variant"
