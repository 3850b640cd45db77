#!/bin/bash
# The kernel lane on the current kernel (design §4; issue 14 item 5): linux 6.12 from Debian 12's
# bookworm-backports, with the same in-guest contract suite and writeback checks as the 6.1 lane.
# It runs scripts/lanes/kernel.sh against a 6.12 kernel whose packages are only downloaded and
# unpacked into the cache, never installed: Debian 12's own 6.1 headers and source, which the 6.1
# lane builds against, stay as they are. Only dwarves (pahole, which 6.12's module build runs for
# BTF) is installed, from Debian 12.
#
#   scripts/lanes/kernel-current.sh        (also: npm run lane:kernel:current)
#
# Output: the versions it runs, then kernel.sh's `ok - ` lines and `N passed, N failed`.
# Artifacts: artifacts/kernel-lane-current/. Environment: as kernel.sh (DIRECTFLIP_KERNEL_CACHE,
# _TIMEOUT, _VERBOSE, _FILTER).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${DIRECTFLIP_KERNEL_CACHE:-/var/cache/directflip-kernel-lane}
SUITE=bookworm-backports
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
say() { echo "kernel lane (current): $*"; }
fail() {
  say "FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root (it adds an apt source and writes $CACHE)"
mkdir -p "$CACHE"
# shellcheck source=scripts/lanes/current/backports.sh
. "$ROOT/scripts/lanes/current/backports.sh"
ensure_backports "kernel lane (current)" || fail "bookworm-backports is not available to apt"

# The ABI and exact version bookworm-backports' linux-image-amd64 points at.
meta=$(apt-cache show "linux-image-amd64/$SUITE" 2>/dev/null) || fail "apt-cache show linux-image-amd64/$SUITE"
ABI=$(printf '%s\n' "$meta" | sed -n 's/^Depends: linux-image-\([0-9][^ ]*-amd64\).*/\1/p' | head -n1)
VER=$(printf '%s\n' "$meta" | sed -n 's/^Version: //p' | head -n1)
[ -n "$ABI" ] && [ -n "$VER" ] || fail "cannot read the kernel ABI from linux-image-amd64/$SUITE"
case $ABI in 6.12.*) ;; *) fail "linux-image-amd64/$SUITE is $ABI, not a 6.12 kernel" ;; esac
BASE=${ABI%-amd64}         # 6.12.95+deb12
SRCPKG=linux-source-$(echo "$ABI" | cut -d. -f1,2)
say "kernel ${ABI%%+*} ($ABI, $VER from $SUITE)"

if ! dpkg-query -W -f='${Status}' dwarves 2>/dev/null | grep -q "install ok installed"; then
  apt-get install -y -qq dwarves >/dev/null 2>"$CACHE/apt-current.log" ||
    { tail -n 20 "$CACHE/apt-current.log" >&2; fail "apt-get install dwarves (pahole)"; }
fi

# Headers, their common part, kbuild and the source tarball, unpacked side by side under $D.
D=$CACHE/current-$ABI-$VER
if [ ! -f "$D/.done" ]; then
  say "downloading and unpacking the $ABI headers and $SRCPKG $VER"
  rm -rf "$D"
  mkdir -p "$D/dl" "$D/root"
  chown _apt "$D/dl" 2>/dev/null || true
  (cd "$D/dl" && apt-get download -qq "linux-headers-$ABI=$VER" "linux-headers-$BASE-common=$VER" \
    "linux-kbuild-$BASE=$VER" "$SRCPKG=$VER") || fail "apt-get download of the $ABI headers and $SRCPKG $VER"
  for f in "$D"/dl/linux-headers-*.deb "$D"/dl/linux-kbuild-*.deb; do
    dpkg-deb -x "$f" "$D/root" || fail "dpkg-deb -x $f"
  done
  dpkg-deb --fsys-tarfile "$D"/dl/"$SRCPKG"_*.deb | tar -C "$D" -x "./usr/src/$SRCPKG.tar.xz" ||
    fail "unpacking $SRCPKG.tar.xz from its package"
  # The headers' Makefile includes the common tree by its installed path: point it at ours.
  sed -i "s|^include /usr/src/|include $D/root/usr/src/|" "$D/root/usr/src/linux-headers-$ABI/Makefile"
  rm -rf "$D/dl"
  touch "$D/.done"
fi

export DIRECTFLIP_KERNEL_ABI=$ABI
export DIRECTFLIP_KERNEL_HEADERS=$D/root/usr/src/linux-headers-$ABI
export DIRECTFLIP_KERNEL_SOURCE_TAR=$D/usr/src/$SRCPKG.tar.xz
export DIRECTFLIP_KERNEL_SOURCE_VERSION=$VER
export DIRECTFLIP_KERNEL_ARTIFACTS=$ROOT/artifacts/kernel-lane-current
exec bash "$ROOT/scripts/lanes/kernel.sh"
