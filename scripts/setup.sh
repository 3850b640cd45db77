#!/bin/sh
# Installs what directflip needs on a fresh Debian 12 machine, then the npm dependencies.
# Debian packages: libdrm-dev (DRM UAPI headers for the native addon), libxml2-utils (xmllint,
# RELAX NG checks), dbus-daemon (private buses in tests and the demo), qemu-system-x86 (a real
# QEMU D-Bus display in the tests), systemd (only for systemd-analyze, which rates the installed
# unit's sandbox; nothing of it runs here), libglib2.0-bin (gdbus: the D-Bus policy tests),
# libvirt-clients (virsh on libvirt's test driver: the doc tests run the docs' virsh lines),
# man-db (man -l renders the generated directflip(1)), strace (counts the hook shim's syscalls).
set -eu
cd "$(dirname "$0")/.."
pkgs="libdrm-dev linux-libc-dev libxml2-utils dbus-daemon qemu-system-x86 systemd libglib2.0-bin libvirt-clients man-db strace g++ make python3"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages:$missing — run as root or: sudo apt-get install$missing" >&2
    exit 1
  fi
  echo "setup: installing Debian packages:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
npm ci
