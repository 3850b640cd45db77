#!/bin/bash
# The libvirt lane (design §4, lane 2): Debian's libvirt 9 and QEMU 7.2 for real, our hook as
# libvirt runs it, and directflipd on the system bus with a simulated KMS sink (this kernel has
# no DRM). Needs root on Debian 12. Safe to run again: it first clears what an earlier run left,
# and on exit stops and removes everything it started, whatever failed.
#
#   scripts/lanes/libvirt.sh        (also: npm run lane:libvirt)
#
# Prints one line per check, then `N passed, N failed`; exit status 1 when any check failed.
# Artifacts (monitor PNGs, logs, the hook trace) go to artifacts/libvirt-lane/.
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
ART=${DIRECTFLIP_LIBVIRT_ARTIFACTS:-$REPO/artifacts/libvirt-lane}
WORK=/run/directflip-lane
TRACE=/run/directflip/hook-trace
DF="node $REPO/bin/directflip"
VIRSH="virsh -c qemu:///system"
DOMAINS="df-tcg-vga df-tcg-plain df-tcg-bad"
PASSED=0
FAILED=0

say() { printf '%s\n' "$*"; }
die() { say "libvirt lane: $*" >&2; exit 1; }
pass() { PASSED=$((PASSED + 1)); say "ok - $1"; }
fail() { FAILED=$((FAILED + 1)); say "not ok - $1${2:+: $2}"; }
# check NAME COMMAND...: one assertion; the command's own output explains a failure.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(printf '%s' "$out" | tail -n 5 | tr '\n' ' ')"; fi
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts libvirtd)"

# --- clean-up, also of what an earlier run left behind --------------------------------------
stop_pidfile() {
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$f"
}
cleanup() {
  if [ -f "$WORK/libvirtd.pid" ] && $VIRSH version >/dev/null 2>&1; then
    for d in $DOMAINS; do
      $VIRSH destroy "$d" >/dev/null 2>&1
      $VIRSH undefine "$d" >/dev/null 2>&1
    done
  fi
  stop_pidfile "$WORK/libvirtd.pid"
  stop_pidfile "$WORK/virtlogd.pid"
  stop_pidfile "$WORK/directflipd.pid"
  stop_pidfile "$WORK/dbus.pid"
  pkill -f 'qemu-system-x86_64 .*-name guest=df-tcg-' 2>/dev/null
  # libvirt 9.0 leaves the per-VM bus config behind; a stale one breaks a later start.
  rm -f /run/libvirt/qemu/dbus/*-df-tcg-*
  [ -f /etc/libvirt/hooks/qemu.d/50-directflip ] && $DF uninstall >/dev/null 2>&1
  rm -f /etc/libvirt/hooks/qemu.d/10-lane-sentinel
  # Records are named by domain UUID, with the name inside.
  grep -lF '"name": "df-tcg-' /run/directflip/domains/*.json 2>/dev/null | xargs -r rm -f
  rm -rf "$TRACE" /opt/directflip-lane
}
trap cleanup EXIT
cleanup
mkdir -p "$WORK" "$ART"
rm -f "$ART"/*

# --- packages, build ------------------------------------------------------------------------
step() { say "# [${SECONDS}s] $*"; }
step "installing libvirt, QEMU and dbus from Debian's packages"
PKGS="libvirt-daemon-system libvirt-clients qemu-system-x86 dbus-daemon"
if ! dpkg -s $PKGS >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends $PKGS >/dev/null || die "apt-get install $PKGS failed"
fi
LIBVIRT_VERSION=$(libvirtd --version | awk '{print $NF}')
QEMU_VERSION=$(qemu-system-x86_64 --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')
say "# libvirt $LIBVIRT_VERSION, QEMU $QEMU_VERSION"
# Since libvirt 10.5 the release hook's 4th argument is the shutoff reason; before, it is "-".
release_reason() { if printf '%s\n' 10.5.0 "$LIBVIRT_VERSION" | sort -V -C; then echo "$1"; else echo -; fi; }
[ -f "$REPO/dist/hook.js" ] && [ -f "$REPO/dist/src/sources/bus-helper.js" ] || (npm run build >/dev/null) || die "npm run build failed"
# The per-VM bus helper runs as libvirt-qemu and must read the package, as it can where a
# package is installed (/usr/lib, /opt). A checkout under a private directory is copied there.
if ! runuser -u libvirt-qemu -- test -r "$REPO/dist/src/sources/bus-helper.js"; then
  say "# libvirt-qemu cannot read $REPO: using a copy in /opt/directflip-lane"
  rm -rf /opt/directflip-lane && mkdir -p /opt/directflip-lane &&
    cp -a "$REPO/package.json" "$REPO/bin" "$REPO/src" "$REPO/dist" "$REPO/build" "$REPO/node_modules" "$REPO/examples" "$REPO/hooks" "$REPO/data" "$REPO/man" /opt/directflip-lane/ ||
    die "copying the package to /opt/directflip-lane failed"
  DF="node /opt/directflip-lane/bin/directflip"
  runuser -u libvirt-qemu -- test -r /opt/directflip-lane/dist/src/sources/bus-helper.js || die "libvirt-qemu cannot read /opt/directflip-lane either"
fi

# --- install directflip; start the system bus, directflipd, virtlogd, libvirtd ---------------
step "directflip install; starting the system bus, directflipd, virtlogd and libvirtd"
mkdir -p /etc/libvirt/hooks/qemu.d
printf 'not a hook (not executable): the lane checks that uninstall leaves it alone\n' >/etc/libvirt/hooks/qemu.d/10-lane-sentinel
$DF install --json >"$ART/install.json" || die "directflip install failed: $(tr -s '\n ' ' ' <"$ART/install.json" | cut -c1-400)"
mkdir -p "$TRACE"
if ! pgrep -f 'dbus-daemon --system' >/dev/null; then
  # No system bus runs (PID 1 is not systemd here): start one, clearing a dead one's leftovers.
  mkdir -p /run/dbus
  rm -f /run/dbus/system_bus_socket /run/dbus/pid
  dbus-daemon --system --fork --print-pid >"$WORK/dbus.pid" || die "the system dbus-daemon did not start"
fi
$DF daemon --host sim:vkms >"$ART/directflipd.log" 2>&1 &
echo $! >"$WORK/directflipd.pid"
for _ in $(seq 100); do $DF status >/dev/null 2>&1 && break; sleep 0.1; done
$DF status >/dev/null 2>&1 || die "directflipd did not come up on the system bus: $(tail -n 5 "$ART/directflipd.log")"
# /dev/kvm exists here but hangs guests; libvirt's KVM capability probe then times out and is
# retried on every define (36 s each). The guests are TCG anyway, so libvirtd runs in its own
# mount namespace where /dev/kvm is /dev/null.
start_libvirtd() {
  if [ -e /dev/kvm ]; then
    unshare -m --propagation private sh -c 'mount --bind /dev/null /dev/kvm && exec libvirtd -d --pid-file "$1"' sh "$WORK/libvirtd.pid"
  else
    libvirtd -d --pid-file "$WORK/libvirtd.pid"
  fi
}
virtlogd -d --pid-file "$WORK/virtlogd.pid" || die "virtlogd did not start"
# libvirt reads its hooks only when it starts: the hook is installed first.
start_libvirtd || die "libvirtd did not start"
for _ in $(seq 300); do $VIRSH version >/dev/null 2>&1 && break; sleep 0.1; done
$VIRSH version >/dev/null 2>&1 || die "libvirtd does not answer virsh"

# --- domains --------------------------------------------------------------------------------
step "defining the domains"
sed -e 's/<name>df-tcg-vga</<name>df-tcg-plain</' -e 's/6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1c04/6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1c05/' \
  -e '/<metadata>/,/<\/metadata>/d' examples/tcg-vga-dbus.xml >"$WORK/plain.xml"
sed -e 's/<name>df-tcg-vga</<name>df-tcg-bad</' -e 's/6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1c04/6a0f3c2e-8b1d-4e57-9c3a-2f5d7e9b1c06/' \
  -e 's/to="overlay"/to="sideways"/' examples/tcg-vga-dbus.xml >"$WORK/bad.xml"
for f in examples/tcg-vga-dbus.xml "$WORK/plain.xml" "$WORK/bad.xml"; do
  $VIRSH define "$f" >/dev/null || die "virsh define $f failed"
done

# --- helpers for the checks -----------------------------------------------------------------
node_events() { awk -v d="$1" '$2 == "node" && $3 == d {print $4, $5, $6}' "$TRACE/events" 2>/dev/null | tr '\n' ';'; }
expect_eq() { [ "$1" = "$2" ] || { say "expected [$2], got [$1]"; return 1; }; }
stream_state() { $DF status --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")).streams.find(x=>x.domain===process.argv[1]);console.log(s?`${s.state} ${s.flipped}`:"none")' "$1"; }
wait_streaming() {
  local s
  for _ in $(seq 300); do
    s=$(stream_state "$1")
    case $s in streaming\ [1-9]*) return 0 ;; failed*) break ;; esac
    sleep 0.1
  done
  say "stream of $1: $s; $($DF status 2>&1 | tail -n 3 | tr '\n' ' ')"
  return 1
}
# Firmware text at the top left of the monitor: more than one colour in a 200x16 strip.
png_has_text() {
  node -e 'const {decodePng,distinctColours}=require(process.argv[1]);const p=decodePng(require("fs").readFileSync(process.argv[2]));const n=distinctColours(p,0,0,200,16);if(n<2){console.log(`only ${n} colour(s) at the top left of ${p.width}x${p.height}`);process.exit(1)}' \
    "$REPO/dist/src/util/png.js" "$1"
}
shot() { $DF screenshot Virtual-1 -o "$ART/$1.png" >/dev/null; }
same_file() { cmp -s "$1" "$2" || { say "$1 and $2 differ"; return 1; }; }
xml_has() { grep -qF -- "$2" "$1" || { say "$1 lacks $2"; return 1; }; }
xml_lacks() { ! grep -qF -- "$2" "$1" || { say "$1 has $2"; return 1; }; }
sha_matches() {
  local want got
  want=$(sha256sum "$TRACE/$1.$2.xml" | cut -d' ' -f1)
  got=$(awk -v d="$1" -v o="$2" '$2 == "node" && $3 == d && $4 == o' "$TRACE/events" | tail -n 1 | sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p')
  expect_eq "$got" "$want"
}
no_state() { ! grep -qsF "\"name\": \"$1\"" /run/directflip/domains/*.json || { say "state file for $1 left behind"; return 1; }; }
# QEMU >= 9.2 hands a listener that lists org.qemu.Display1.Listener.Unix.Map (ours does) its
# console's surface in a memfd (ScanoutMap/UpdateMap); older ones send the pixels (Scanout/Update).
qemu_has_map() { printf '%s\n' 9.2.0 "$QEMU_VERSION" | sort -V -C; }
stream_detail() { $DF status --json | node -e 'const s=JSON.parse(require("fs").readFileSync(0,"utf8")).streams.find(x=>x.domain===process.argv[1]);console.log(s?s.detail:"none")' "$1"; }
# stream_path DOMAIN REGEX: the stream's detail names its path so, with the bytes copied per frame.
stream_path() {
  local d
  d=$(stream_detail "$1")
  say "# $1: $d"
  printf '%s\n' "$d" | grep -qE "showing [0-9]+x[0-9]+ ($2)( \(.*\))?; [0-9]+ bytes copied per frame$" || { say "the stream of $1 does not show its picture by $2"; return 1; }
  $DF status | grep -qE "$1 .* streaming .*\([0-9.]+ (B|KiB|MiB)/frame\)" || { say "status's COPIED column lacks the bytes per frame"; return 1; }
}
status_has_no() { ! $DF status --json | grep -q "\"domain\":\"$1\"" || { say "status still shows $1"; return 1; }; }

# --- checks ---------------------------------------------------------------------------------
step "a configured domain: start, stream, destroy"
shot before
check "virsh start df-tcg-vga succeeds" $VIRSH start df-tcg-vga
check "our hook saw prepare → start → started, argv as libvirt passes it" expect_eq "$(node_events df-tcg-vga)" "prepare begin -;start begin -;started begin -;"
check "prepare's stdin is the inactive XML with our metadata and no display address yet" \
  bash -c "grep -qF 'https://directflip.github.io/xmlns/domain/1' $TRACE/df-tcg-vga.prepare.xml && ! grep -q \"<graphics type='dbus' address=\" $TRACE/df-tcg-vga.prepare.xml"
check "started's stdin is the live XML with libvirt's per-VM bus address" xml_has "$TRACE/df-tcg-vga.started.xml" "<graphics type='dbus' address='unix:path=/run/libvirt/qemu/dbus/"
check "node read exactly the bytes the shim got from libvirt (prepare)" sha_matches df-tcg-vga prepare
check "node read exactly the bytes the shim got from libvirt (started)" sha_matches df-tcg-vga started
check "the daemon attached to the VM's D-Bus display and frames are flipped" wait_streaming df-tcg-vga
helper_users() { ps -eo user:32,args | grep -v grep | grep 'bus-helper.js unix:path=/run/libvirt/qemu/dbus/' | awk '{print $1}' | sort -u | tr '\n' ' '; }
check "the bus helper on libvirt's per-VM bus runs as libvirt-qemu, not root" expect_eq "$(helper_users)" "libvirt-qemu "
sleep 2 # SeaBIOS prints under TCG within a second or two
check "the simulated monitor shows the firmware screen (artifact firmware-screen.png)" bash -c "$(declare -f shot png_has_text); DF='$DF'; ART='$ART'; REPO='$REPO'; shot firmware-screen && png_has_text '$ART/firmware-screen.png'"
check "status reports the domain active with its qemu-dbus stream" bash -c "$DF status | grep -E 'df-tcg-vga +active' && $DF status | grep -E 'df-tcg-vga +directflip/output\[1\]/plane\[1\] +qemu-dbus +streaming'"
say "# df-tcg-vga's stream: $(stream_detail df-tcg-vga)"
if qemu_has_map; then
  check "QEMU $QEMU_VERSION serves the console through Listener.Unix.Map; status says so, with the bytes copied per frame" stream_path df-tcg-vga 'map via udmabuf|map copying'
else
  check "QEMU $QEMU_VERSION (no Listener.Unix.Map before 9.2) keeps the pixel path; status says so, with the bytes copied per frame" stream_path df-tcg-vga pixels
fi
check "virsh destroy df-tcg-vga succeeds" $VIRSH destroy df-tcg-vga
check "our hook saw stopped → release on destroy" expect_eq "$(node_events df-tcg-vga | cut -d';' -f4-)" "stopped end -;release end $(release_reason destroyed);"
check "status no longer shows df-tcg-vga" status_has_no df-tcg-vga
check "no state is left for df-tcg-vga" no_state df-tcg-vga
shot after-destroy
check "the monitor shows exactly what it showed before the guest (after-destroy.png = before.png)" same_file "$ART/before.png" "$ART/after-destroy.png"

step "an invalid configuration"
$VIRSH start df-tcg-bad >"$ART/virsh-start-bad.txt" 2>&1
check "virsh start df-tcg-bad fails" expect_eq "$?" 1
check "libvirt's error carries our precise message" bash -c "grep -F 'Hook script execution failed' '$ART/virsh-start-bad.txt' && grep -E 'directflip: domain df-tcg-bad: invalid directflip configuration: .*sideways' '$ART/virsh-start-bad.txt'"
check "stopped and release followed the failed prepare" expect_eq "$(node_events df-tcg-bad)" "prepare begin -;stopped end -;release end $(release_reason failed);"
check "the failed start left no state and no assignment" bash -c "$(declare -f no_state status_has_no); DF='$DF'; no_state df-tcg-bad && status_has_no df-tcg-bad"
check "df-tcg-bad is not running" bash -c "$VIRSH domstate df-tcg-bad | grep -qx 'shut off'"

step "a domain without our metadata"
check "virsh start df-tcg-plain succeeds" $VIRSH start df-tcg-plain
check "the shim's fast path handled every df-tcg-plain event: node never started" \
  bash -c "grep -q ' shim fast-path df-tcg-plain started ' $TRACE/events && ! grep -q ' shim node df-tcg-plain ' $TRACE/events && ! grep -q ' node df-tcg-plain ' $TRACE/events"
check "virsh destroy df-tcg-plain succeeds" $VIRSH destroy df-tcg-plain

step "restarting libvirtd while a configured domain runs"
check "virsh start df-tcg-vga succeeds again" $VIRSH start df-tcg-vga
check "it streams again" wait_streaming df-tcg-vga
stop_pidfile "$WORK/libvirtd.pid"
start_libvirtd
for _ in $(seq 300); do $VIRSH version >/dev/null 2>&1 && break; sleep 0.1; done
for _ in $(seq 50); do node_events df-tcg-vga | grep -q reconnect && break; sleep 0.1; done
check "libvirtd's restart called our hook with reconnect" bash -c "$(declare -f node_events); TRACE='$TRACE'; node_events df-tcg-vga | grep -q 'reconnect begin -;'"
check "the domain keeps running" bash -c "$VIRSH domstate df-tcg-vga | grep -qx running"
check "directflip status still reports the assignment" bash -c "$DF status | grep -E 'df-tcg-vga +active'"
check "virsh destroy df-tcg-vga after the restart" $VIRSH destroy df-tcg-vga
shot after-reconnect
check "the monitor is restored exactly after that guest too" same_file "$ART/before.png" "$ART/after-reconnect.png"

step "uninstall"
check "directflip uninstall succeeds" bash -c "$DF uninstall --json >'$ART/uninstall.json'"
check "every file install wrote is gone" node -e '
  const inst = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const files = (inst.files ?? inst.written ?? inst.plan ?? []).map((f) => f.path ?? f);
  if (!files.length) { console.log("install.json lists no files: " + JSON.stringify(inst).slice(0, 200)); process.exit(1); }
  const left = files.filter((p) => require("fs").existsSync(p));
  if (left.length) { console.log("left behind: " + left.join(", ")); process.exit(1); }' "$ART/install.json"
check "a file install did not write is untouched" test -f /etc/libvirt/hooks/qemu.d/10-lane-sentinel

cp "$TRACE/events" "$ART/hook-trace.txt" 2>/dev/null
cp /var/log/libvirt/qemu/df-tcg-vga.log "$ART/" 2>/dev/null
say "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
