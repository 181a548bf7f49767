#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install-test.sh SRC: devid as a device maker ships it. Under tests/fixture/with-swtpm ek-only
# (swtpm, run as root on the host, is the device's TPM: a TPM with only its EK):
#  1. builds the Debian packages from SRC (build-debs; $DEVID_DEBS: use the .debs there);
#  2. makes a fresh Debian 12 root (debootstrap-root, cached) and installs them;
#  3. runs every command block of docs/install.md in order, each as the user its
#     "<!-- as USER -->" line names (root only installs and configures; the factory, owner,
#     keyd and TLS steps run as the unprivileged users devid, keyd and tlsclient);
#  4. checks what the guide promises: each user signs with the renewed identities, the TLS
#     server saw the device's certificate, the factory credentials are gone; and that the
#     PINs the guide sets are really required (no login: CKR_USER_NOT_LOGGED_IN; a TLS client
#     that cannot read pin_file, or a world-readable pin_file: an error naming pin_file).
# The test EST servers and the TLS server run in the root as the unprivileged user "est".
# Needs root (debootstrap, chroot, mount) and Debian's mirror the first time.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$1" && pwd)
[[ $(id -u) == 0 ]] || { echo "install-test: needs root (chroot, mount)" >&2; exit 1; }
[[ -n ${DEVID_TCTI:-} && -d ${DEVID_FIXTURE:-} ]] || { echo "install-test: run under with-swtpm" >&2; exit 2; }
# a private mount namespace: /proc of the root goes away with us whatever happens
if [[ -z ${DEVID_INSTALL_NS:-} ]]; then
    DEVID_INSTALL_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
work=$(mktemp -d /var/tmp/devid-install.XXXXXX)
. "$here/lib.sh"
root=$work/root
pids=()
# Every process whose root is the test root: the servers started in it and anything they or
# the packages started. ($! of a backgrounded shell function is the subshell's pid, not the
# server's: killing only those left the servers running after every run.)
root_pids() {
    local p
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && echo "${p#/proc/}"
    done
}
# Stops the servers the test started (pids) and waits for every process of the root to end.
stop_servers() {
    local p i
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for ((i = 0; i < 100; i++)); do
        [[ -z $(root_pids) ]] && break
        sleep 0.05
    done
}
# What is still there after that (a server whose pid was not the one killed) is killed too.
stop_root_procs() {
    local i
    stop_servers
    for ((i = 0; i < 50; i++)); do
        mapfile -t left < <(root_pids)
        [[ ${#left[@]} -eq 0 ]] && break
        kill "${left[@]}" 2>/dev/null
        sleep 0.1
    done
    mapfile -t left < <(root_pids)
    [[ ${#left[@]} -eq 0 ]] || kill -KILL "${left[@]}" 2>/dev/null
    wait 2>/dev/null
}
cleanup() {
    stop_root_procs
    umount "$root/proc" 2>/dev/null
    if [[ ${DEVID_INSTALL_KEEP:-} == 1 ]]; then echo "install-test: kept $work" >&2; else
        rm -rf --one-file-system "$work"; fi
}
trap cleanup EXIT
trap "exit 99" TERM INT
die() { echo "install-test: $*" >&2; exit 99; }

# --- 1. packages
debs=${DEVID_DEBS:-$work/debs}
if [[ -z ${DEVID_DEBS:-} ]]; then
    "$here/build-debs" "$src" "$debs" >"$work/build-debs.log" 2>&1 ||
        { cat "$work/build-debs.log" >&2; die "building the packages failed"; }
fi
ls "$debs"/devid-enroll_*.deb >/dev/null || die "no packages in $debs"

# --- 2. a fresh Debian 12
"$here/debootstrap-root" bookworm "$root" "$here/root-packages.txt" || die "no Debian root"
mount -t proc proc "$root/proc" || die "cannot mount /proc in the root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
grep -qw localhost "$root/etc/hosts" 2>/dev/null || printf '127.0.0.1 localhost\n' >>"$root/etc/hosts"
inst=$root/root/install # the installing admin's working directory
mkdir -p "$inst"
cp "$debs"/*.deb "$inst/"
rm -f "$inst"/*-dbgsym_*.deb
pki=$DEVID_FIXTURE/pki
cp "$pki/trust.pem" "$inst/trust.pem"
cat "$pki/oem-ca.pem" "$pki/owner-ca.pem" >"$inst/est-trust.pem"
printf 'station-secret\n' >"$inst/est-password"

# the servers' side: the test EST servers and a TLS server, as the user "est"
chroot "$root" useradd --system --user-group est || die "useradd est"
srv=/srv/est
mkdir -p "$root$srv"
cp "$src/tests/est-server/est-server" "$src"/tests/est-server/est_*.py "$pki"/oem-ca.{pem,key} "$pki"/owner-ca.{pem,key} "$root$srv/"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$root$srv/tls.key" \
    -out "$root$srv/tls.pem" -subj /CN=localhost -days 2 2>/dev/null
chroot "$root" chown -R est:est "$srv"
chmod 600 "$root$srv"/*.key && chmod 755 "$root$srv" && chmod 644 "$root$srv/tls.pem" # the TLS clients' trust anchor
as_est() { chroot --userspec=est:est "$root" env -i PATH=/usr/bin:/bin HOME=$srv OPENSSL_CONF=/dev/null "$@"; }
# In the background, with $! the server's own pid (chroot and env exec it): a backgrounded
# shell function would leave $! the pid of a subshell, and killing that stops nothing.
as_est_bg() {
    # (<&0: a background command's stdin is otherwise /dev/null, and s_server quits at its end)
    chroot --userspec=est:est "$root" env -i PATH=/usr/bin:/bin HOME=$srv OPENSSL_CONF=/dev/null \
        "$@" <&0 &
    pids+=($!)
}
start_est() { # start_est NAME ARGS...: sets est_url
    local name=$1 i
    shift
    as_est_bg "$srv/est-server" --listen 127.0.0.1:0 --ready-file "$srv/$name.ready" "$@" \
        >/dev/null 2>"$work/$name.err"
    for ((i = 0; i < 1500; i++)); do
        [[ -s $root$srv/$name.ready ]] && break
        sleep 0.02
    done
    [[ -s $root$srv/$name.ready ]] || { cat "$work/$name.err" >&2; die "$name EST server did not start"; }
    read -r _ port <"$root$srv/$name.ready"
    est_url=https://localhost:$port
}
start_est factory --ca-cert $srv/oem-ca.pem --ca-key $srv/oem-ca.key --basic station:station-secret
FACTORY_EST=$est_url
start_est owner --ca-cert $srv/owner-ca.pem --ca-key $srv/owner-ca.key \
    --client-ca $srv/oem-ca.pem --client-ca $srv/owner-ca.pem --require tls
OWNER_EST=$est_url
cat "$root$srv"/{oem,owner}-ca.pem >"$root$srv/clients.pem"
mkfifo "$work/tls.in"
: >"$work/tls.log"
exec {tls_in}<>"$work/tls.in" # s_server quits when its stdin closes
as_est_bg openssl s_server -accept 127.0.0.1:0 -cert $srv/tls.pem -key $srv/tls.key -Verify 1 \
    -CAfile $srv/clients.pem -verify_return_error <&$tls_in >"$work/tls.log" 2>&1
for ((i = 0; i < 1500; i++)); do grep -q '^ACCEPT' "$work/tls.log" && break; sleep 0.02; done
TLS_SERVER=$(sed -n 's/^ACCEPT //p' "$work/tls.log")
[[ -n $TLS_SERVER ]] || { cat "$work/tls.log" >&2; die "the TLS server did not start"; }

# --- 3. the guide, block by block
SO_PIN=so-314159 # the owner's PINs (docs/install.md sets them at the owner step)
USER_PIN=user-2718
as_user() { # as_user USER SCRIPT: SCRIPT in the root as USER with its groups (root: as is)
    local user=$1 script=$2 priv=() home=/tmp
    [[ $user == root ]] && home=/root/install # where the admin put the packages and files
    [[ $user == root ]] || priv=(setpriv --reuid "$user" --regid "$user" --init-groups)
    chroot "$root" "${priv[@]}" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp LANG=C.UTF-8 \
        DEVID_TCTI="$DEVID_TCTI" TPM2TOOLS_TCTI="$DEVID_TCTI" FACTORY_EST="$FACTORY_EST" \
        OWNER_EST="$OWNER_EST" TLS_SERVER="$TLS_SERVER" SERVER_CA=$srv/tls.pem \
        SO_PIN="$SO_PIN" USER_PIN="$USER_PIN" \
        DEBIAN_FRONTEND=noninteractive \
        bash -c "cd $home && set -euo pipefail && $script"
}
blocks=$work/blocks
mkdir -p "$blocks"
awk -v dir="$blocks" '
    /^<!-- as [a-z]+ -->$/ { user = $3; next }
    /^```sh$/ && user != "" { n++; file = sprintf("%s/%02d.%s", dir, n, user); inblock = 1; next }
    /^```/ && inblock { inblock = 0; user = ""; close(file); next }
    inblock { print > file }
' "$src/docs/install.md"
nblocks=$(find "$blocks" -type f | wc -l)
check "docs/install.md has command blocks ($nblocks)" test "$nblocks" -ge 10
for block in "$blocks"/*; do
    user=${block##*.}
    if as_user "$user" "$(cat "$block")" >"$block.out" 2>&1; then
        ok "docs/install.md block ${block##*/} (as $user)"
    else
        not_ok "docs/install.md block ${block##*/} (as $user)"
        sed 's/^/    | /' "$block" >&2
        sed 's/^/    > /' "$block.out" >&2
    fi
done

# --- 4. what the guide promises
check "the TLS server saw device-id's certificate" grep -q 'CN *= *device-id\|device-id' "$work/tls.log"
check "no factory password left" test ! -e "$root/etc/devid/est-password"
check "no factory credentials in devid.conf" bash -c "! grep -Eq '^(username|password_file)' '$root/etc/devid/devid.conf'"
echo 'signed after renewal' >"$root/tmp/renewed-data"
chmod 644 "$root/tmp/renewed-data"
sign_verify() { # sign_verify USER OBJECT CHAIN: USER signs with OBJECT through the provider
    as_user "$1" "openssl pkeyutl -sign -inkey devid:object=$2 -rawin -digest sha256 \
        -in /tmp/renewed-data -out /tmp/sig.$1.$2" &&
        openssl pkeyutl -verify -certin -inkey "$root$3" -rawin -digest sha256 \
            -in "$root/tmp/renewed-data" -sigfile "$root/tmp/sig.$1.$2"
}
for user in devid keyd tlsclient; do
    check "$user signs with the renewed LDevID" sign_verify "$user" LDevID /var/lib/devid/ldevid-chain.pem
    check "$user signs with the renewed device-id" sign_verify "$user" device-id /var/lib/devid/device-id-chain.pem
done
# (pkcs11-tool picks the key for --sign by --id only: a --label alone signs with the first key)
p11_sign_device_id() { # p11_sign_device_id [LOGIN ARGS]: keyd signs with device-id via PKCS#11
    as_user keyd "p11='pkcs11-tool --module p11-kit-proxy.so --token-label DevID'
     id=\$(\$p11 --list-objects --type pubkey | awk '/label: *device-id\$/ {f=1} f && /ID:/ {print \$2; exit}')
     test -n \"\$id\" && \$p11 $* --sign -m ECDSA-SHA256 --id \$id -i /tmp/renewed-data -o /tmp/p11sig -f openssl </dev/null"
}
check "keyd signs with the renewed device-id through PKCS#11 with the PIN" \
    p11_sign_device_id --login --pin "$USER_PIN"
check "  ... and the signature verifies" bash -c "openssl x509 -in '$root/var/lib/devid/device-id-chain.pem' \
    -pubkey -noout >'$work/dev.pub' && openssl dgst -sha256 -verify '$work/dev.pub' \
    -signature '$root/tmp/p11sig' '$root/tmp/renewed-data'"
# (the failing checks come last: a process that aborts leaves its TPM objects loaded in a
# TPM without resource manager, as swtpm here)
# The PINs are really required: without a login, keyd can neither make nor use a store key.
fails_with() { # fails_with PATTERN COMMAND...: COMMAND fails and its output matches PATTERN
    local pattern=$1 out
    shift
    if out=$("$@" 2>&1); then echo "succeeded: $out" >&2; return 1; fi
    grep -q -- "$pattern" <<<"$out" || { echo "no '$pattern' in: $out" >&2; return 1; }
}
check "keyd cannot generate a key without logging in (CKR_USER_NOT_LOGGED_IN)" \
    fails_with CKR_USER_NOT_LOGGED_IN as_user keyd "pkcs11-tool --module p11-kit-proxy.so \
        --token-label DevID --keypairgen --key-type EC:prime256v1 --label nologin --id 77 </dev/null"
# (pkcs11-tool sees that the token requires a login and asks for the PIN, which keyd's
# stdin does not give)
check "keyd's pkcs11-tool cannot sign with device-id without the PIN" \
    fails_with 'Please enter User PIN' p11_sign_device_id
check "without a login, keyd sees no private key of the store" as_user keyd \
    "out=\$(p11tool --list-privkeys 'pkcs11:token=DevID' </dev/null 2>&1 || true)
     ! grep -q 'object=device-id' <<<\"\$out\""
check "  ... and after one with the PIN, device-id's" as_user keyd \
    "GNUTLS_PIN=\$USER_PIN p11tool --login --list-privkeys 'pkcs11:token=DevID' </dev/null |
     grep -q 'object=device-id'"
# A TLS client that cannot read pin_file, or a pin_file every user can read: a clear error
# naming pin_file, no handshake.
tls_client() {
    as_user tlsclient 'openssl s_client -connect "$TLS_SERVER" -key devid:object=device-id \
        -cert /var/lib/devid/device-id-chain.pem -verify_return_error -CAfile "$SERVER_CA" </dev/null'
}
chmod 0600 "$root/etc/devid/user.pin"
check "a TLS client without access to the PIN file fails naming pin_file" fails_with pin_file tls_client
chmod 0644 "$root/etc/devid/user.pin"
check "a world-readable PIN file is refused, naming pin_file" fails_with pin_file tls_client
chmod 0640 "$root/etc/devid/user.pin"
check "the PIN file is root:devid 0640" bash -c \
    "[[ \$(chroot '$root' stat -c '%a %U:%G' /etc/devid/user.pin) == '640 root:devid' ]]"
check "store files belong to the group devid" bash -c \
    "! find '$root/var/lib/devid' -mindepth 1 ! -group \$(chroot '$root' getent group devid | cut -d: -f3) | grep -q ."
stop_servers
check "no process of the test root outlives its servers' stop ($(root_pids | xargs -r ps -o pid=,cmd= -p | tr '\n' ';'))" \
    test -z "$(root_pids)"
finish
