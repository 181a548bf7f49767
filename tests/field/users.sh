# SPDX-License-Identifier: Apache-2.0
# Unprivileged test users (sourced by the tests of a store shared by a group). Needs root:
# the tests create throw-away system users and a group, and remove them on exit.
# as_user USER CMD...: CMD as USER (its groups, nothing of root's), the environment kept.

if [[ $(id -u) != 0 ]]; then
    echo "SKIP: creating test users needs root"
    exit 77
fi

test_users=()
test_groups=()
# What makes this run's user and group names unique: the pid alone is not. A run killed before
# its cleanup leaves its users behind, and in the Debian 13 root (its /etc kept between CI runs,
# a fresh PID namespace each run) the same pids come back: useradd then finds the name taken.
test_user_id=$$-$RANDOM

# /etc/passwd is locked by every useradd on the machine: wait for our turn.
retry_locked() {
    local i
    for i in $(seq 30); do
        if "$@" 2>"$work/useradd.err"; then
            return 0
        fi
        grep -q 'lock' "$work/useradd.err" || break
        sleep 1
    done
    cat "$work/useradd.err" >&2
    return 1
}

add_group() {
    retry_locked groupadd --system "$1"
    test_groups+=("$1")
}

# add_user NAME [GROUP,...]: primary group nogroup, the groups given as supplementary ones.
add_user() {
    local groups=()
    [[ -z ${2:-} ]] || groups=(--groups "$2")
    retry_locked useradd --system --no-create-home --shell /usr/sbin/nologin --gid nogroup \
        "${groups[@]}" "$1"
    test_users+=("$1")
}

remove_users() {
    local u g
    for u in "${test_users[@]}"; do retry_locked userdel "$u" || true; done
    for g in "${test_groups[@]}"; do retry_locked groupdel "$g" || true; done
}

as_user() {
    local u=$1
    shift
    setpriv --reuid="$u" --regid=nogroup --init-groups -- "$@"
}

# work must be reachable by the test users
chmod 0755 "$work"
trap 'remove_users; rm -rf "$work"' EXIT
