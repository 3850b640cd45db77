#!/bin/bash
# The libvirt lane on the current stack (design §4; issue 14 item 4): libvirt 11.3 and QEMU 10.0
# from Debian 12's bookworm-backports, isolated from the host's libvirt 9 / QEMU 7.2 in a
# debootstrap chroot of bookworm (cached in $CACHE), running the very checks of
# scripts/lanes/libvirt.sh: that script runs inside the chroot, in its own mount and PID
# namespace (its clean-up and pgrep/pkill see only the chroot's processes), with this checkout
# bind-mounted and the host's node copied in. Daemons: monolithic libvirtd and virtlogd, started by
# hand as in the 9.0 lane (libvirt 11 still ships libvirtd; no systemd runs here).
#
#   scripts/lanes/libvirt-current.sh        (also: npm run lane:libvirt:current)
#
# Output: the versions it runs, then libvirt.sh's checks and `N passed, N failed`.
# Artifacts: artifacts/libvirt-lane-current/. Environment: DIRECTFLIP_LIBVIRT_CURRENT_CACHE.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CACHE=${DIRECTFLIP_LIBVIRT_CURRENT_CACHE:-/var/cache/directflip-libvirt-current}
R=$CACHE/root
# What libvirt.sh checks for, from backports (QEMU 10 builds its D-Bus display as a module, in
# qemu-system-modules-opengl); procps for its pgrep/pkill/ps, ca-certificates for node.
BPO_PKGS="libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-system-modules-opengl dbus-daemon"
PKGS="procps ca-certificates"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
say() { echo "libvirt lane (current): $*"; }
die() {
  say "FAILED: $*" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"
for t in debootstrap unshare chroot; do
  command -v "$t" >/dev/null || apt-get install -y -qq "$t" >/dev/null 2>&1 || die "cannot install $t"
done
# shellcheck source=scripts/lanes/current/backports.sh
. "$ROOT/scripts/lanes/current/backports.sh"
ensure_backports "libvirt lane (current)" || die "bookworm-backports is not available to apt"
mkdir -p "$CACHE"

# --- the chroot: bookworm minbase + libvirt 11.3 / QEMU 10.0 from backports, built once --------
KEY=$(printf '%s\n' "$BPO_PKGS" "$PKGS" | sha256sum | cut -c1-12)
if [ "$(cat "$R/.directflip-key" 2>/dev/null)" != "$KEY" ]; then
  T0=$SECONDS
  uri=$(bookworm_mirror) || die "no apt source serves bookworm"
  say "building the bookworm chroot with libvirt and QEMU from bookworm-backports in $R"
  rm -rf "$R" "$R.tmp"
  debootstrap --variant=minbase bookworm "$R.tmp" "$uri" >"$CACHE/debootstrap.log" 2>&1 ||
    { tail -n 20 "$CACHE/debootstrap.log" >&2; die "debootstrap bookworm (log: $CACHE/debootstrap.log)"; }
  cp "$BACKPORTS_LIST" "$R.tmp/etc/apt/sources.list.d/"
  # Packages' maintainer scripts must not start services in the chroot.
  printf '#!/bin/sh\nexit 101\n' >"$R.tmp/usr/sbin/policy-rc.d"
  chmod 0755 "$R.tmp/usr/sbin/policy-rc.d"
  unshare -m --propagation private sh -c '
    mount -t proc proc "$1/proc" && mount --rbind /dev "$1/dev" &&
    chroot "$1" sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends -t bookworm-backports $2 && apt-get install -y -qq --no-install-recommends $3 && apt-get clean"
  ' sh "$R.tmp" "$BPO_PKGS" "$PKGS" >"$CACHE/install.log" 2>&1 ||
    { tail -n 20 "$CACHE/install.log" >&2; die "apt-get install in the chroot (log: $CACHE/install.log)"; }
  echo "$KEY" >"$R.tmp/.directflip-key"
  mv "$R.tmp" "$R"
  say "chroot ready in $((SECONDS - T0))s"
fi
LV=$(chroot "$R" libvirtd --version | awk '{print $NF}')
QV=$(chroot "$R" qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')
say "libvirt $LV, QEMU $QV (bookworm-backports, chroot $R; monolithic libvirtd + virtlogd)"

# --- run libvirt.sh inside: this checkout bind-mounted, node copied in -------------------------
NODE=$(readlink -f "$(command -v node)") || die "no node on PATH"
install -m 0755 "$NODE" "$R/usr/bin/node"
chroot "$R" /usr/bin/node -e 0 || die "the host's node does not run in the chroot (ldd: $(chroot "$R" ldd /usr/bin/node | grep 'not found' | tr '\n' ' '))"
[ -f "$ROOT/dist/hook.js" ] && [ -f "$ROOT/dist/src/sources/bus-helper.js" ] || (npm run build >/dev/null) || die "npm run build failed"
mkdir -p "$R/opt/directflip-current" "$ROOT/artifacts/libvirt-lane-current"
# PID 1 of the new PID namespace is this sh: when it ends, every process started inside ends too.
unshare -m -p -f --propagation private sh -c '
  r=$1 repo=$2
  # The root a bind mount of itself, so the unshare -m libvirt.sh does in the chroot can work.
  mount --bind "$r" "$r" && mount -t proc proc "$r/proc" && mount --rbind /sys "$r/sys" && mount --rbind /dev "$r/dev" &&
    mount -t tmpfs -o mode=0755 tmpfs "$r/run" && mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" &&
    mount --bind "$repo" "$r/opt/directflip-current" || exit 1
  chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C HOME=/root DIRECTFLIP_LIBVIRT_ARTIFACTS=/opt/directflip-current/artifacts/libvirt-lane-current bash /opt/directflip-current/scripts/lanes/libvirt.sh
' sh "$R" "$ROOT"
rc=$?
say "libvirt $LV, QEMU $QV: artifacts in artifacts/libvirt-lane-current/"
exit "$rc"
