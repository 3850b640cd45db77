#!/bin/busybox sh
# /init of the kernel lane's initramfs (PID 1 in the QEMU guest). Mounts the pseudo file systems,
# loads the DRM and VFIO modules (the built vkms and mbochs among them), runs the in-guest test
# bundle with node, and powers off. The console (ttyS0) carries the boot log and a human copy of
# the results; ttyS1 is a clean channel for the host: result lines and writeback captures only.
/bin/busybox mkdir -p /bin /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /dev/shm

out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
say() { echo "$*"; echo "$*" > "$out"; }
say "DF-LANE boot $(uname -r)"
say "DF-LANE kernel $(cat /proc/version)"

# One line per module in /run/modprobe.log: "name rc output". The test bundle turns every module
# that did not load into a failed test carrying this reason (never a skip).
: > /run/modprobe.log
load() {
  name=$1
  shift
  msg=$(modprobe "$name" "$@" 2>&1)
  rc=$?
  echo "$name $rc $msg" | tr '\n' ' ' >> /run/modprobe.log
  echo >> /run/modprobe.log
  [ $rc -eq 0 ] || say "DF-LANE modprobe $name failed ($rc): $msg"
}
# vkms first, so it is card0 (vgem becomes card1 + renderD128); the tests find each by driver name.
load drm
load drm_kms_helper
load drm_shmem_helper
load vkms enable_overlay=1 enable_cursor=1 enable_writeback=1
load vgem
load vfio
load vfio_iommu_type1 allow_unsafe_interrupts=1
load mdev
load mbochs
# udmabuf: built in on 6.12, a module of the lane's own build on 6.1.
if [ -e /dev/udmabuf ]; then
  echo "udmabuf 0 built in" >> /run/modprobe.log
else
  load udmabuf
fi

# fbcon would draw its blinking cursor into the vkms console framebuffer; unbind it so every
# writeback capture is deterministic. fbdev's initial mode on Virtual-1 stays, as on a host.
for v in /sys/class/vtconsole/vtcon*; do
  [ -e "$v/name" ] && grep -q 'frame buffer' "$v/name" && echo 0 > "$v/bind"
done

export FORCE_COLOR=0 NO_COLOR=1
cd /df || say "DF-LANE no /df in the initramfs"
# The bundle reports every test itself, on both serial ports. --expose-gc: the tests release
# unreferenced mmaps (which hold DRM files open) between tests.
node --expose-gc dist/test/kernel-lane/bundle.js &
node=$!
# A guest that stops making progress leaves a diagnosis: the hung-task detector reports a task
# stuck in D state for 30 s, and shortly before the host's deadline (df.deadline=, seconds of
# uptime) a watchdog puts node's threads (state, wchan, kernel stack), the blocked tasks and every
# CPU's backtrace on the console.
echo 30 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
deadline=$(sed -n 's/.*df\.deadline=\([0-9]*\).*/\1/p' /proc/cmdline)
if [ -n "$deadline" ]; then
  (
    up=$(cut -d. -f1 /proc/uptime)
    [ "$deadline" -gt "$up" ] && sleep $((deadline - up))
    kill -0 "$node" 2>/dev/null || exit 0
    say "DF-LANE watchdog: node (pid $node) still running at ${deadline}s of uptime; its threads and the kernel's blocked tasks follow on the console"
    for t in /proc/"$node"/task/*; do
      echo "DF-LANE watchdog: thread $(cat "$t/comm") $(grep '^State' "$t/status" | tr -s ' \t' ' ') wchan $(cat "$t/wchan")"
      sed 's/^/DF-LANE watchdog:   /' "$t/stack"
    done
    # sysrq's dumps log below the console's loglevel: read them back from the kernel's buffer.
    echo 1 > /proc/sys/kernel/sysrq
    echo w > /proc/sysrq-trigger
    echo l > /proc/sysrq-trigger
    dmesg | tail -n 200 | sed 's/^/DF-LANE watchdog: dmesg /'
  ) &
fi
wait "$node"
rc=$?
say "DF-LANE exit $rc"
sync
# -no-reboot on the QEMU side turns the reboot into an exit.
echo b > /proc/sysrq-trigger
reboot -f
