#!/bin/bash
# The kernel lane (design §4, lane 3; issue 8): a Debian kernel booted under QEMU TCG with vkms
# (overlays, cursor, writeback), vgem, udmabuf and the mbochs mdev sample, running the native addon's
# contract suites and the lane's own tests against real ioctls. Idempotent: the kernel, the module
# sources and the built modules are cached in $CACHE, keyed by kernel ABI and patch contents.
#
# Output: each in-guest test as `ok - NAME` / `not ok - NAME: WHY`, then `N passed, N failed`.
# Writeback captures land in artifacts/kernel-lane/*.png, the guest console in console.log.
# An oops, BUG, WARN or hung task on the guest's console is a failure of its own, with the lines; a
# guest past the deadline leaves its watchdog's dump (init.sh) and, from an NMI the host sends it 15 s
# before the deadline, a panic with every CPU's backtrace in the output.
# Exit status: 0 only when every test passed and the guest finished.
#
# Environment: DIRECTFLIP_KERNEL_CACHE (cache dir), DIRECTFLIP_KERNEL_TIMEOUT (guest seconds),
# DIRECTFLIP_KERNEL_VERBOSE=1 (echo the guest console live), DIRECTFLIP_KERNEL_FILTER=REGEX (run
# only the tests whose full name matches; such a run always fails).
# Another kernel than Debian 12's own (scripts/lanes/kernel-current.sh): DIRECTFLIP_KERNEL_ABI,
# DIRECTFLIP_KERNEL_HEADERS (a headers tree), DIRECTFLIP_KERNEL_SOURCE_TAR and _SOURCE_VERSION
# (its linux-source tarball), DIRECTFLIP_KERNEL_ARTIFACTS; then no kernel package is installed.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LANE=$ROOT/scripts/lanes/kernel
CACHE=${DIRECTFLIP_KERNEL_CACHE:-/var/cache/directflip-kernel-lane}
ART=${DIRECTFLIP_KERNEL_ARTIFACTS:-$ROOT/artifacts/kernel-lane}
TIMEOUT=${DIRECTFLIP_KERNEL_TIMEOUT:-420}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

T0=$(date +%s)
STEP=start
step() {
  STEP=$1
  echo "kernel lane: [$(($(date +%s) - T0))s] $STEP"
}
fail() {
  echo "kernel lane: FAILED at step '$STEP': $*" >&2
  exit 1
}
trap 'rc=$?; echo "kernel lane: FAILED at step '"'"'$STEP'"'"' (exit $rc, line $LINENO: $BASH_COMMAND)" >&2; exit $rc' ERR

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs Debian packages and writes $CACHE)"
mkdir -p "$CACHE" "$ART"

# --- 1. Debian packages --------------------------------------------------------------------------
step "resolve the kernel ABI (linux-image-amd64)"
resolve_abi() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: linux-image-\([0-9].*-amd64\)$/\1/p' | head -n1
}
ABI=${DIRECTFLIP_KERNEL_ABI:-$(resolve_abi || true)}
if [ -z "$ABI" ]; then
  apt-get update -qq || fail "apt-get update"
  ABI=$(resolve_abi || true)
fi
[ -n "$ABI" ] || fail "apt-cache cannot resolve linux-image-amd64 to a linux-image-<ABI> package"
echo "kernel lane: kernel ABI $ABI"

step "install Debian packages"
PKGS="qemu-system-x86 busybox-static cpio xz-utils kmod build-essential"
[ -n "${DIRECTFLIP_KERNEL_HEADERS:-}" ] || PKGS="$PKGS linux-source-6.1 linux-headers-$ABI"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "kernel lane: installing$missing"
  apt-get install -y -qq $missing >/dev/null 2>"$CACHE/apt.log" ||
    { apt-get update -qq && apt-get install -y -qq $missing >/dev/null 2>"$CACHE/apt.log"; } ||
    { tail -n 20 "$CACHE/apt.log" >&2; fail "apt-get install$missing"; }
fi
SRCTAR=${DIRECTFLIP_KERNEL_SOURCE_TAR:-/usr/src/linux-source-6.1.tar.xz}
SRCDIR=$(basename "$SRCTAR" .tar.xz)
SRCVER=${DIRECTFLIP_KERNEL_SOURCE_VERSION:-$(dpkg-query -W -f='${Version}' linux-source-6.1)}
HEADERS=${DIRECTFLIP_KERNEL_HEADERS:-/usr/src/linux-headers-$ABI}
[ -f "$HEADERS/Makefile" ] || fail "$HEADERS/Makefile is missing (linux-headers-$ABI)"

# --- 2. The kernel itself: unpacked into the cache, never installed into /boot ------------------
step "fetch linux-image-$ABI"
KDIR=$CACHE/kernel-$ABI
if [ ! -f "$KDIR/.done" ]; then
  rm -rf "$KDIR"
  mkdir -p "$KDIR/dl"
  chown _apt "$KDIR/dl" 2>/dev/null || true
  (cd "$KDIR/dl" && apt-get download -qq "linux-image-$ABI") || fail "apt-get download linux-image-$ABI"
  dpkg-deb -x "$KDIR"/dl/linux-image-*.deb "$KDIR/root" || fail "dpkg-deb -x linux-image-$ABI"
  rm -rf "$KDIR/dl"
  touch "$KDIR/.done"
fi
VMLINUZ=$KDIR/root/boot/vmlinuz-$ABI
KMODS=$KDIR/root/lib/modules/$ABI
[ -f "$VMLINUZ" ] && [ -d "$KMODS/kernel" ] || fail "the unpacked linux-image-$ABI has no vmlinuz or modules"
# udmabuf (issue 14 item 2): Debian's 6.12 builds it in; 6.1 sets no CONFIG_UDMABUF, so there it
# is built out of tree from linux-source like vkms and mbochs.
KCONFIG=$KDIR/root/boot/config-$ABI
UDMABUF=$(sed -n 's/^CONFIG_UDMABUF=\([ym]\)$/\1/p' "$KCONFIG" 2>/dev/null)
[ -f "$KCONFIG" ] || fail "linux-image-$ABI has no /boot/config-$ABI to read CONFIG_UDMABUF from"
if [ -n "$UDMABUF" ]; then
  echo "kernel lane: udmabuf from Debian's kernel (CONFIG_UDMABUF=$UDMABUF)"
else
  echo "kernel lane: no CONFIG_UDMABUF in linux-image-$ABI: udmabuf is built out of tree"
fi

# --- 3. Module sources Debian does not build (GPL-2.0: extracted here, never committed) --------
step "extract vkms and mbochs from $SRCDIR $SRCVER"
SRC=$CACHE/src-$SRCVER
if [ ! -f "$SRC/.done" ]; then
  rm -rf "$SRC"
  mkdir -p "$SRC"
  tar -C "$SRC" -xJf "$SRCTAR" --strip-components=1 --wildcards \
    "$SRCDIR/drivers/gpu/drm/vkms/*" "$SRCDIR/samples/vfio-mdev/mbochs.c" ||
    fail "tar: vkms and mbochs from $SRCTAR"
  touch "$SRC/.done"
fi
if [ -z "$UDMABUF" ] && [ ! -f "$SRC/drivers/dma-buf/udmabuf.c" ]; then
  tar -C "$SRC" -xJf "$SRCTAR" --strip-components=1 "$SRCDIR/drivers/dma-buf/udmabuf.c" ||
    fail "tar: drivers/dma-buf/udmabuf.c from $SRCTAR"
fi

# --- 4. Patch and build them out of tree against the matching headers --------------------------
BUILT="vkms mbochs"
[ -n "$UDMABUF" ] || BUILT="$BUILT udmabuf"
step "build ${BUILT// /, } against $HEADERS"
KEY=$(cat "$LANE/patch-sources.pl" "$LANE/vkms.Kbuild" "$LANE/mbochs.Kbuild" "$LANE/udmabuf.Kbuild" | sha256sum | cut -c1-12)
MODS=$CACHE/modules-$ABI-$SRCVER-$KEY
if [ ! -f "$MODS/.done" ]; then
  rm -rf "$MODS"
  mkdir -p "$MODS/vkms" "$MODS/mbochs"
  cp "$SRC"/drivers/gpu/drm/vkms/*.[ch] "$MODS/vkms/"
  cp "$SRC/samples/vfio-mdev/mbochs.c" "$MODS/mbochs/"
  cp "$LANE/vkms.Kbuild" "$MODS/vkms/Kbuild"
  cp "$LANE/mbochs.Kbuild" "$MODS/mbochs/Kbuild"
  UDIR=""
  if [ -z "$UDMABUF" ]; then
    UDIR=$MODS/udmabuf
    mkdir -p "$UDIR"
    cp "$SRC/drivers/dma-buf/udmabuf.c" "$UDIR/"
    cp "$LANE/udmabuf.Kbuild" "$UDIR/Kbuild"
  fi
  perl "$LANE/patch-sources.pl" "$MODS/vkms" "$MODS/mbochs" $UDIR || fail "patching the module sources"
  for m in $BUILT; do
    make -C "$HEADERS" M="$MODS/$m" -j"$(nproc)" modules >"$MODS/$m/build.log" 2>&1 ||
      { tail -n 30 "$MODS/$m/build.log" >&2; fail "make $m.ko (log: $MODS/$m/build.log)"; }
    strip --strip-debug -o "$MODS/$m.ko" "$MODS/$m/$m.ko"
  done
  touch "$MODS/.done"
fi

# --- 5. The modules the guest loads, with their dependencies, depmod'ed -------------------------
step "stage modules and depmod"
WANT="drm drm_kms_helper drm_shmem_helper vgem vfio vfio_iommu_type1 mdev"
STAGE=$CACHE/stage-$ABI-$KEY${UDMABUF:+-udmabuf$UDMABUF}
[ "$UDMABUF" = m ] && WANT="$WANT udmabuf"
if [ ! -f "$STAGE/.done" ]; then
  rm -rf "$STAGE"
  SM=$STAGE/lib/modules/$ABI
  mkdir -p "$SM/extra"
  cp "$KMODS"/modules.order "$KMODS"/modules.builtin "$KMODS"/modules.builtin.modinfo "$SM/"
  for m in $BUILT; do cp "$MODS/$m.ko" "$SM/extra/"; done
  declare -A seen=()
  # 6.12 ships its modules xz-compressed: they are staged decompressed, for busybox's modprobe.
  modpath() { local d; d=$(echo "$1" | tr _ -); find "$KMODS/kernel" -name "$1.ko" -o -name "$d.ko" -o -name "$1.ko.xz" -o -name "$d.ko.xz" | head -n1; }
  add() {
    local name=$1 f rel deps d
    [ -n "${seen[$name]:-}" ] && return 0
    seen[$name]=1
    f=$(modpath "$name")
    [ -n "$f" ] || fail "module $name is not in linux-image-$ABI"
    rel=${f#"$KMODS"/}
    rel=${rel%.xz}
    mkdir -p "$SM/$(dirname "$rel")"
    case $f in *.xz) xz -dc "$f" >"$SM/$rel" ;; *) cp "$f" "$SM/$rel" ;; esac
    deps=$(modinfo -F depends "$f")
    for d in ${deps//,/ }; do add "$d"; done
  }
  for m in $WANT; do add "$m"; done
  for f in "$SM"/extra/*.ko; do
    deps=$(modinfo -F depends "$f")
    for d in ${deps//,/ }; do add "$d"; done
  done
  depmod -b "$STAGE" "$ABI" || fail "depmod -b $STAGE $ABI"
  touch "$STAGE/.done"
fi

# --- 6. The project: addon and the in-guest test bundle ------------------------------------------
step "build the addon and the in-guest test bundle"
ADDON=$ROOT/build/Release/directflip_native.node
if [ ! -f "$ADDON" ] || [ ! -d "$ROOT/node_modules/esbuild" ] || [ ! -d "$ROOT/node_modules/expect" ]; then
  scripts/setup.sh || fail "scripts/setup.sh (npm ci builds the native addon)"
fi
[ -f "$ADDON" ] || fail "$ADDON was not built"
# The lane tests the native code as it is now: rebuild an addon older than its sources.
if [ -n "$(find native binding.gyp -newer "$ADDON" -print -quit)" ]; then
  echo "kernel lane: native/ changed since the addon was built; rebuilding it"
  node scripts/build-native.js >"$CACHE/build-native.log" 2>&1 ||
    { tail -n 30 "$CACHE/build-native.log" >&2; fail "node scripts/build-native.js (log: $CACHE/build-native.log)"; }
fi
WORK=$(mktemp -d /tmp/directflip-kernel-lane.XXXXXX)
QPID=""
cleanup() {
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
APP=$WORK/app
mkdir -p "$APP/df/build/Release" "$APP/df/dist/test/kernel-lane" "$APP/df/examples"
node "$LANE/bundle.js" "$APP/df/dist/test/kernel-lane/bundle.js" || fail "esbuild of test/kernel-lane"
cp "$ADDON" "$APP/df/build/Release/"
cp -r examples/hosts "$APP/df/examples/"
cp package.json "$APP/df/"
# The frame path's floor (bench/floor/floor.c, issue 16): raw ioctls, static, for the guest.
mkdir -p "$APP/df/bench/floor"
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -static -I/usr/include/libdrm \
  -o "$APP/df/bench/floor/floor" bench/floor/floor.c || fail "gcc bench/floor/floor.c"
install -m 0755 "$LANE/init.sh" "$APP/init"
# A developer's filter on test names (a regular expression); a filtered run never passes.
if [ -n "${DIRECTFLIP_KERNEL_FILTER:-}" ]; then
  printf '%s\n' "$DIRECTFLIP_KERNEL_FILTER" >"$APP/df/lane-filter"
fi

# --- 7. Initramfs: a cached base (busybox, node, modules) + this run's app, uncompressed cpio ---
step "build the initramfs"
NODE=$(command -v node)
NODEKEY=$(stat -c '%s-%Y' "$(readlink -f "$NODE")" /bin/busybox | sha256sum | cut -c1-12)
BASE=$CACHE/base-$ABI-$KEY-$NODEKEY.cpio
if [ ! -f "$BASE" ]; then
  B=$WORK/base
  mkdir -p "$B/bin" "$B/usr/bin" "$B/lib" "$B/proc" "$B/sys" "$B/dev" "$B/tmp" "$B/run" "$B/etc"
  cp /bin/busybox "$B/bin/busybox"
  cp -L "$NODE" "$B/usr/bin/node"
  for lib in $( (ldd "$NODE"; ldd "$ADDON") | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$B$(dirname "$lib")"
    cp -L "$lib" "$B$lib"
  done
  cp -a "$STAGE/lib/modules" "$B/lib/"
  (cd "$B" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$BASE.tmp" || fail "cpio of the base initramfs"
  mv "$BASE.tmp" "$BASE"
fi
(cd "$APP" && find . -print0 | sort -z | cpio --null -o -H newc --quiet -R 0:0) >"$WORK/app.cpio" || fail "cpio of the app initramfs"
cat "$BASE" "$WORK/app.cpio" >"$WORK/initrd.cpio"

# --- 8. Boot under TCG (never KVM: /dev/kvm hangs guests here) and collect the results ----------
step "boot $ABI under QEMU TCG and run the in-guest tests"
rm -f "$ART"/*.png "$ART"/*.txt "$ART"/console.log
: >"$WORK/ttyS1"
# The monitor socket lets the host send an NMI to a guest that stopped (below): with
# unknown_nmi_panic it panics and panic_print=0x40 puts every CPU's backtrace on the console, the
# one report a hard lockup with interrupts off still gives (TCG has no NMI watchdog).
qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G -nodefaults -display none -no-reboot -no-user-config \
  -serial "file:$ART/console.log" -serial "file:$WORK/ttyS1" \
  -monitor "unix:$WORK/hmp.sock,server=on,wait=off" \
  -kernel "$VMLINUZ" -initrd "$WORK/initrd.cpio" \
  -append "console=ttyS0 panic=-1 oops=panic unknown_nmi_panic panic_print=0x40 loglevel=4 rdinit=/init df.deadline=$((TIMEOUT - 40))" &
QPID=$!
if [ "${DIRECTFLIP_KERNEL_VERBOSE:-0}" = 1 ]; then
  tail -n +1 --pid="$QPID" -f "$ART/console.log" 2>/dev/null &
fi
# Print each result as the guest reports it.
tail -n +1 --pid="$QPID" -f "$WORK/ttyS1" 2>/dev/null | sed -u 's/\r$//' | grep --line-buffered -E '^(ok |not ok |# |DF-LANE )' &
TAILPID=$!
timed_out=0
nmi_at=""
# Wall-clock seconds, as the guest counts its deadline (TCG's clock is the host's): a loaded host
# stretches a count of `sleep 1`s far past it.
deadline=$(($(date +%s) + TIMEOUT))
while kill -0 "$QPID" 2>/dev/null; do
  # 15 s before the deadline, after /init's own watchdog had its turn: the NMI (see above).
  if [ -z "$nmi_at" ] && [ "$(date +%s)" -ge $((deadline - 15)) ]; then
    nmi_at=$((TIMEOUT - 15))
    node -e 'const s = require("net").connect(process.argv[1], () => { s.write("nmi\n"); setTimeout(() => s.end(), 500); });
      s.on("error", (e) => { console.error(`kernel lane: no NMI sent: ${e.message}`); });' "$WORK/hmp.sock" || true
  fi
  if [ "$(date +%s)" -ge "$deadline" ]; then
    timed_out=1
    kill "$QPID" 2>/dev/null || true
    break
  fi
  sleep 1
done
wait "$QPID" 2>/dev/null || true
QPID=""
wait "$TAILPID" 2>/dev/null || true

step "collect results"
tr -d '\r' <"$WORK/ttyS1" >"$WORK/results.raw"
node "$LANE/collect.js" "$WORK/results.raw" "$ART" || true
grep -E '^(ok|not ok)' "$WORK/results.raw" >"$ART/results.txt" || true
passed=$(grep -c '^ok ' "$ART/results.txt" || true)
failed=$(grep -c '^not ok ' "$ART/results.txt" || true)
if ! grep -q '^DF-LANE exit ' "$WORK/results.raw"; then
  # A guest still running near the deadline was sent the NMI (and, if that did not end it, was
  # stopped at the deadline): every such run is reported here.
  if [ -n "$nmi_at" ]; then
    stopped=""
    [ "$timed_out" = 1 ] && stopped=", and was stopped at ${TIMEOUT}s"
    echo "not ok - the guest finished: it was still running ${nmi_at}s in and was sent an NMI${stopped} (see $ART/console.log)"
    # What /init's watchdog saw shortly before: node's threads and kernel stacks.
    tr -d '\r' <"$ART/console.log" | { grep -E '^DF-LANE watchdog|blocked for more than' || true; } | head -n 250 | sed 's/^/# /'
    # The panic the NMI caused, with every CPU's backtrace: where the guest was stuck.
    tr -d '\r' <"$ART/console.log" | sed -n '/NMI received for unknown reason\|Kernel panic - not syncing: NMI/,$p' | head -n 200 | sed 's/^/# /'
  else
    echo "not ok - the guest finished: it stopped without reporting (kernel panic or node crash; see $ART/console.log)"
    tail -n 25 "$ART/console.log" | sed 's/^/# /'
  fi
  failed=$((failed + 1))
fi
# The guest kernel's own log on the console: an oops, BUG or WARN anywhere in it fails the lane
# loudly, with the lines, even when it ended the guest before kernel-log.lane.ts could look.
oops=$(tr -d '\r' <"$ART/console.log" | grep -E 'BUG:|Oops|WARNING:|Kernel panic|general protection fault|kernel BUG|UBSAN:|KASAN:|refcount_t:|list_del corruption|blocked for more than' || true)
if [ -n "$oops" ]; then
  echo "not ok - the guest kernel logged no oops, BUG or WARN on its console: $(printf '%s\n' "$oops" | wc -l) line(s) (see ${ART#"$ROOT"/}/console.log)"
  printf '%s\n' "$oops" | head -n 20 | sed 's/^/# /'
  tr -d '\r' <"$ART/console.log" | grep -A 12 -m 1 -E 'Call Trace:' | sed 's/^/# /' || true
  failed=$((failed + 1))
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "not ok - the guest ran any test: none reported"
  failed=1
fi
echo "kernel lane: [$(($(date +%s) - T0))s] done; captures and console log in ${ART#"$ROOT"/}/"
trap - ERR
# The kernel that ran, as the guest saw it (/proc/version names Debian's package version).
kver=$(sed -n 's/^DF-LANE kernel //p' "$WORK/results.raw" | head -n1)
deb=$(printf '%s\n' "$kver" | grep -oE 'Debian [0-9][^ )]*' | tail -n1 || true)
up=${deb#Debian }
echo "kernel lane: ran kernel ${up%%-*} ($ABI${deb:+, $deb})"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] || exit 1
