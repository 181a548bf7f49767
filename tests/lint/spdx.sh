#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of the project names its licence (SPDX-License-Identifier: Apache-2.0, the
# LICENSE file) near its top: C sources and headers, linker maps, shell and Python scripts, and
# the build files. Lists the files that do not.
# usage: spdx.sh SOURCE_ROOT
set -uo pipefail
cd "${1:?usage: spdx.sh SOURCE_ROOT}" || exit 99
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t files < <(git ls-files)
else
    mapfile -t files < <(find . -type f -not -path './.git/*' -not -path './build*' | sed 's|^\./||')
fi
missing=0 checked=0
for f in "${files[@]}"; do
    case $f in
    debian/* | tests/fuzz/corpus/*) continue ;;
    *.c | *.h | *.map | *.sh | *.py | meson.build | */meson.build | meson_options.txt) ;;
    *)
        [[ -f $f && ! -L $f ]] || continue
        head -c 2 "$f" | grep -q '^#!' || continue # other scripts: those with a #! line
        ;;
    esac
    checked=$((checked + 1))
    if ! head -n 5 "$f" | grep -q 'SPDX-License-Identifier: Apache-2.0'; then
        echo "no SPDX-License-Identifier line: $f"
        missing=$((missing + 1))
    fi
done
echo "spdx: $checked files checked, $missing without a licence line"
[[ $checked -gt 0 && $missing -eq 0 ]]
