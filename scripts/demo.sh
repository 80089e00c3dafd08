#!/usr/bin/env bash
# make demo: run `nixgate check` with the built-in policy on a fresh copy of
# examples/anchor committed to a new git repository in a temporary
# directory. The example plants problems (examples/anchor/PLANTED.md), so
# the gate is meant to fail: the demo succeeds (exit 0) when nixgate exits 1
# and reports exactly the planted problems, each once, and fails otherwise.
set -uo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a "$here/examples/anchor" "$tmp/anchor"
(
  cd "$tmp/anchor" &&
  git init -q -b main &&
  git add -A &&
  git -c user.name=demo -c user.email=demo@example.org -c commit.gpgsign=false commit -q -m "anchor example"
) || { echo "demo: could not make the example repository" >&2; exit 3; }
echo "\$ nixgate check   # in a fresh copy of examples/anchor, built-in policy" >&2
(cd "$tmp/anchor" && "$bin" check) | tee "$tmp/out.txt"
code=${PIPESTATUS[0]}
# What the report names: "CHECK PATH" per finding (the path is the group
# heading, the check the [id] that ends the finding's last line).
awk '/^[^[:space:]]/ && !/^(FAILED|PASSED|INCOMPLETE|Summary|Adopt)/ {f=$0}
     /^[[:space:]].*\[[a-z0-9-]+\]$/ {id=$NF; gsub(/[][]/,"",id); print id, f}' "$tmp/out.txt" | sort >"$tmp/found"
awk -F'|' 'NF>=4 {c=$2; p=$3; gsub(/ /,"",c); gsub(/ /,"",p); if (c ~ /^[a-z0-9-]+$/ && c !~ /^-+$/ && c != "check") print c, p}' \
  "$here/examples/anchor/PLANTED.md" | sort >"$tmp/planted"
missing=$(comm -23 "$tmp/planted" "$tmp/found")
extra=$(comm -13 "$tmp/planted" "$tmp/found")
# The anchor UKI, built by its recipe (uki/build.sh) when the tools are
# installed (scripts/deps.sh), checked by nixgate uki check: the image
# embeds the same room policies, so it shows the same planted vault.toml.
if [ -x /usr/bin/objcopy ] && [ -e /usr/lib/systemd/boot/efi/linuxx64.efi.stub ] && ls /var/cache/nixgate/linux-image-*-amd64_*.deb >/dev/null 2>&1; then
  echo "\$ bash uki/build.sh anchor.efi && nixgate uki check anchor.efi --policy uki/gate.toml" >&2
  if (cd "$tmp/anchor" && bash uki/build.sh "$tmp/anchor.efi"); then
    (cd "$tmp/anchor" && "$bin" uki check "$tmp/anchor.efi" --policy uki/gate.toml)
    echo "(nixgate uki check exited with $?: the image embeds the planted vault.toml)" >&2
  fi
fi
echo >&2
if [ "$code" = 1 ] && [ -z "$missing" ] && [ -z "$extra" ]; then
  echo "demo: the gate failed as intended (nixgate exited $code): it reported exactly the $(wc -l <"$tmp/planted") problems planted in examples/anchor (PLANTED.md)" >&2
  exit 0
fi
echo "demo: FAILED: nixgate exited $code (want 1, the gate failing on the planted problems)" >&2
[ -n "$missing" ] && echo "demo: planted but not reported:" >&2 && echo "$missing" | sed 's/^/  /' >&2
[ -n "$extra" ] && echo "demo: reported but not planted:" >&2 && echo "$extra" | sed 's/^/  /' >&2
exit 1
