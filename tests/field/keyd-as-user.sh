#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The keyd replay (tests/pkcs11/keyd-replay.c, unchanged) run as keyd runs on a device: as its
# own unprivileged user, a member of the store's group, under umask 077, loading the module
# itself, in a store set up as the package makes it and owned by devid-enroll's user. First
# without PINs, then with the PINs set by devid-enroll's user through pkcs11-tool (as the install
# guide has the owner do) and keyd logging in with the user PIN. After each, keyd makes the keys
# it keeps (keyd-keep) and the test looks at what it left: its files in the store's group,
# the configured modes, nothing for others; devid-enroll's user lists and uses them, a user
# outside the group does not. Also: keyd and devid-enroll's user starting together on a fresh
# store, and the errors of a user outside the group and of files an older devid made 0600 (they
# say the usermod or chmod that fixes them).
# usage (under with-swtpm ecc|rsa|empty): keyd-as-user.sh KEYD_REPLAY KEYD_KEEP
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../pkcs11/lib.sh"
source "$here/users.sh"
replay=$1 keep=$2

id=$test_user_id
grp=dvg$id      # the store's group (the package's `devid`)
enroll=dve$id   # devid-enroll's user (the package's `devid`), who owns the store
keyd=dvk$id     # keyd's own user (the Identity Service's `aziotks`)
outsider=dvo$id # a user of the device outside the group
add_group "$grp"
add_user "$enroll" "$grp"
add_user "$keyd" "$grp"
add_user "$outsider"

# The device as the package's sysusers.d and tmpfiles.d entries make it
# (enroll/systemd/devid.{sysusers,tmpfiles}.in) and the install guide configures it: the store
# 2770 devid:devid, /etc/devid 0750 root:devid with devid.conf in the group, the LDevID's chain
# as devid-enroll wrote it.
etc=$work/etc
store=$work/store
install -d -m 0750 -o root -g "$grp" "$etc"
install -d -m 2770 -o "$enroll" -g "$grp" "$store"
install -m 0644 "$pki/trust.pem" "$etc/trust.pem"
printf 'trust_anchors = %s\nstore = %s\n' "$etc/trust.pem" "$store" >"$etc/devid.conf"
chgrp "$grp" "$etc/devid.conf"
chmod 0640 "$etc/devid.conf"
if [[ -f $DEVID_STORE/ldevid-chain.pem ]]; then
    install -m 0640 -o "$enroll" -g "$grp" "$DEVID_STORE/ldevid-chain.pem" "$store/"
fi
# keyd's environment holds no store: devid.conf names it
export DEVID_CONF=$etc/devid.conf
unset DEVID_STORE
# What the replay compares the token with (the fixture's certificates), where keyd can read it.
mkdir -p "$work/fixture/pki"
cp "$DEVID_FIXTURE/variant" "$work/fixture/"
cp "$pki"/*devid.pem "$work/fixture/pki/" 2>/dev/null || true
chmod -R a+rX "$work/fixture"
# what the users' tools write (each its own files)
out=$work/out
mkdir -m 1777 "$out"
head -c 100 /dev/urandom >"$work/data"
chmod 0644 "$work/data"

# as USER CMD...: CMD as USER under umask 077, with the module's warnings (what keyd's unit
# drop-in turns on, docs/azure-iot-identity-service.md)
as() {
    local u=$1
    shift
    (umask 077 && as_user "$u" env DEVID_LOG=warn DEVID_FIXTURE="$work/fixture" "$@")
}
as_p11() {
    local u=$1
    shift
    as "$u" "${tool_env[@]}" pkcs11-tool --module "$M" "$@"
}
# the store's files (not the store itself): "MODE OWNER GROUP NAME" each
store_files() { find "$store" -mindepth 1 -printf '%m %u %g %P\n' | sort -k4; }
# keyd's files: each group-readable, in the store's group, nothing for others
keyd_files_shared() {
    local bad
    bad=$(store_files | awk -v u="$keyd" -v g="$grp" '$2 == u && !($1 == "640" && $3 == g)')
    [[ -z $bad ]] || { echo "not 0640 in group $grp:"; echo "$bad"; return 1; }
}
nothing_for_others() {
    local open
    open=$(find "$store" -perm /o=rwx -printf '%m %u %g %P\n')
    [[ -z $open ]] || { echo "open to others:"; echo "$open"; return 1; }
}
keyd_made() { # keyd_made EXT...: keyd owns a file of each kind
    local ext
    for ext in "$@"; do
        store_files | awk -v u="$keyd" '$2 == u' | grep -q "\\.$ext\$" ||
            { echo "keyd made no .$ext file"; store_files; return 1; }
    done
}
# key_id USER CLASS LABEL [pkcs11-tool options]: the CKA_ID of the object of that class
# (privkey, secrkey) and label that USER lists (pkcs11-tool 0.23 picks keys by id only)
key_id() {
    local u=$1 class=$2 label=$3
    shift 3
    as_p11 "$u" "$@" --list-objects --type "$class" 2>/dev/null |
        awk -v l="$label" '$1 == "label:" { mine = ($2 == l) }
                           mine && $1 == "ID:" { print $2; exit }'
}
# signs_with_keyd_key USER LABEL [pkcs11-tool options]: USER signs with keyd's EC key LABEL and
# the signature verifies with that key's public key (read by USER)
signs_with_keyd_key() {
    local u=$1 label=$2 kid
    shift 2
    kid=$(key_id "$u" privkey "$label" "$@")
    [[ -n $kid ]] || { echo "$u does not list $label"; return 1; }
    rm -f "$out/sig" "$out/pub.pem"
    as_p11 "$u" "$@" --sign --id "$kid" -m ECDSA-SHA256 --signature-format openssl \
        --input-file "$work/data" --output-file "$out/sig" &&
        as "$u" "${tool_env[@]}" "${DEVID_P11_PUBKEY:?}" "$M" "$kid" >"$out/pub.pem" &&
        openssl dgst -sha256 -verify "$out/pub.pem" -signature "$out/sig" "$work/data"
}
# mac_by USER LABEL [pkcs11-tool options]: USER's HMAC-SHA256 of the data with keyd's HMAC key
# LABEL, the one secret key there is (keyd's template gives it no CKA_ID to pick it by), into
# $out/mac.USER
mac_by() {
    local u=$1 label=$2
    shift 2
    as_p11 "$u" "$@" --list-objects --type secrkey >"$out/secrkeys" 2>&1
    if [[ $(grep -c 'Secret Key Object' "$out/secrkeys") != 1 ]] ||
        ! grep -qE "label: +$label\$" "$out/secrkeys"; then
        echo "$u does not list $label as the one secret key:"
        cat "$out/secrkeys"
        return 1
    fi
    as_p11 "$u" "$@" --sign -m SHA256-HMAC --input-file "$work/data" --output-file "$out/mac.$u"
}
# macs_as_keyd USER LABEL [pkcs11-tool options]: USER's MAC with keyd's HMAC key is keyd's own
macs_as_keyd() {
    mac_by "$keyd" "${@:2}" && mac_by "$@" && test "$(stat -c %s "$out/mac.$1")" = 32 &&
        cmp "$out/mac.$keyd" "$out/mac.$1"
}
no_leftovers() { # what keyd's replay leaves: the lock file and what was there before it
    local extra
    extra=$(store_files | awk '{print $4}' |
        grep -vxE '\.lock|ldevid-chain\.pem|token-(user|so)\.seal')
    [[ -z $extra ]] || { echo "left in the store:"; store_files; return 1; }
}

# -- without PINs ---------------------------------------------------------------------------
check "keyd's replay as keyd's own user ($variant, no PIN)" as "$keyd" "$replay" "$M" "$variant"
check "keyd's files: 0640, the store's group" keyd_files_shared
check "the replay left nothing behind but the lock file" no_leftovers
# keyd and devid-enroll starting together on a fresh store (a device's first boot): keyd makes
# the store's lock file and is held (strace) just before it gives the file its mode; meanwhile
# devid-enroll's user opens the lock file and generates a key. Neither may fail.
# (LeakSanitizer cannot work under ptrace: the runs of keyd-keep not held check for leaks.)
rm "$store/.lock"
as "$keyd" env ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -qq -o /dev/null -e trace=fchmod -e inject=fchmod:delay_enter=5000000:when=1 \
    "$keep" "$M" keyd-id >"$out/keep.log" 2>&1 &
keep_pid=$!
for _ in $(seq 200); do
    compgen -G "$store/.lock*" >/dev/null && break
    sleep 0.05
done
check "keyd is making the lock file" compgen -G "$store/.lock*"
check "meanwhile devid-enroll's user generates a key" as_p11 "$enroll" --keypairgen \
    --key-type EC:prime256v1 --label enroll-key --id e001
check "keyd keeps a key pair and an HMAC key" wait "$keep_pid"
cat "$out/keep.log" >&2
check_match "the lock file: 0640, the store's group" "^640 $grp\$" stat -c '%a %G' "$store/.lock"
check "no temporary lock file left" bash -c '! compgen -G "$1/.lock.*"' _ "$store"
check "keyd made key and attribute files" keyd_made key attr
check "keyd's files: 0640, the store's group" keyd_files_shared
check "nothing in the store for others" nothing_for_others
check_match "the store is still 2770, devid-enroll's user's, the group's" "^2770 $enroll $grp\$" \
    stat -c '%a %U %G' "$store"
check_match "devid-enroll's user lists keyd's key pair" "label: +keyd-id" \
    as_p11 "$enroll" --list-objects --type privkey
check "devid-enroll's user signs with keyd's key" signs_with_keyd_key "$enroll" keyd-id
check "devid-enroll's user computes keyd's MAC with keyd's HMAC key" macs_as_keyd "$enroll" \
    keyd-id-hmac
if as_p11 "$outsider" --list-objects 2>&1 | grep -q keyd-id; then
    bad "a user outside the group sees keyd's keys"
else
    ok "a user outside the group does not see keyd's keys"
fi
kid=$(key_id "$enroll" privkey keyd-id)
check_fails "a user outside the group cannot sign with keyd's key, and is told why" \
    "this user, $outsider, is not in the group $grp: usermod -aG $grp $outsider" \
    as_p11 "$outsider" --sign --id "${kid:-00}" -m ECDSA-SHA256 --input-file "$work/data" \
    --output-file /dev/null
# A file of keyd's that an older devid made 0600: the other members are told the chmod
attr=$(find "$store" -user "$keyd" -name '*.attr' | head -n 1)
chmod 0600 "$attr"
check_match "a 0600 file of keyd's: devid-enroll's user is told the chmod" \
    "its group may not read it: chmod g\+r $attr" as_p11 "$enroll" --list-objects
chmod 0640 "$attr"

# -- the owner sets the PINs (devid-enroll's user, docs/install.md), keyd logs in ---------------
check "devid-enroll's user initialises the token (SO PIN)" as_p11 "$enroll" --init-token \
    --label DevID --so-pin 87654321
check "... and sets the user PIN" as_p11 "$enroll" --init-pin --pin 1234 --so-pin 87654321
check "initialising the token removed keyd's keys (devid-enroll's user removed keyd's files)" \
    bash -c '! find "$1" -user "$2" ! -name .lock | grep -q .' _ "$store" "$keyd"
seals() { store_files | grep -E 'token-(user|so)\.seal$'; }
check_match "the PIN seals: 0640, devid-enroll's user's, the store's group" \
    "^640 $enroll $grp token-so.seal"$'\n'"640 $enroll $grp token-user.seal\$" seals
check "keyd's replay as keyd's own user ($variant, with its PIN)" as "$keyd" "$replay" "$M" \
    "$variant" pin
check "keyd's files: 0640, the store's group" keyd_files_shared
check "the replay left nothing behind but the lock file" no_leftovers
# a user PIN seal an older devid made 0600: keyd cannot log in, and is told the chmod
chmod 0600 "$store/token-user.seal"
check_fails "a 0600 PIN seal: keyd's login fails and says the chmod" \
    "chmod g\+r $store/token-user.seal" as_p11 "$keyd" --login --pin 1234 --list-objects
chmod 0640 "$store/token-user.seal"
check "keyd keeps a key pair and an HMAC key, logged in" as "$keyd" "$keep" "$M" keyd-pin-id pin
check "keyd made key and attribute files" keyd_made key attr
check "keyd's files: 0640, the store's group" keyd_files_shared
check "nothing in the store for others" nothing_for_others
if as_p11 "$enroll" --list-objects --type privkey 2>&1 | grep -q keyd-pin-id; then
    bad "keyd's private key is visible without the login"
else
    ok "keyd's private key is not visible without the login"
fi
check_match "devid-enroll's user, logged in, lists keyd's key pair" "label: +keyd-pin-id" \
    as_p11 "$enroll" --login --pin 1234 --list-objects --type privkey
check "devid-enroll's user, logged in, signs with keyd's key" signs_with_keyd_key "$enroll" \
    keyd-pin-id --login --pin 1234
check "devid-enroll's user, logged in, computes keyd's MAC with keyd's HMAC key" macs_as_keyd \
    "$enroll" keyd-pin-id-hmac --login --pin 1234
if as_p11 "$outsider" --login --pin 1234 --list-objects 2>&1 | grep -q keyd-pin-id; then
    bad "a user outside the group with the PIN sees keyd's keys"
else
    ok "a user outside the group with the PIN does not see keyd's keys"
fi

summary "keyd-as-user ($variant)"
