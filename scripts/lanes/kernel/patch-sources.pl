#!/usr/bin/perl
# Applies the kernel lane's small fixes to the GPL sources extracted from linux-source at test
# time (they are never committed). Usage: patch-sources.pl VKMS_DIR MBOCHS_DIR [UDMABUF_DIR]
# Every edit must apply exactly once; anything else is a loud failure naming the edit, so a
# changed upstream file is noticed rather than silently built unpatched.
use strict;
use warnings;

my ($vkms, $mbochs, $udmabuf) = @ARGV;
die "usage: $0 VKMS_DIR MBOCHS_DIR [UDMABUF_DIR]\n" unless $vkms && $mbochs;

sub slurp {
  my ($file) = @_;
  local $/;
  open(my $in, '<', $file) or die "patch: cannot read $file: $!\n";
  my $src = <$in>;
  close $in;
  return $src;
}

# Replaces the $want matches of $re (1 unless said), or dies naming the edit.
sub edit {
  my ($file, $name, $re, $repl, $want) = @_;
  $want //= 1;
  my $src = slurp($file);
  return if index($src, "directflip-lane: $name") >= 0;    # already applied
  my $n = () = $src =~ /$re/g;
  die "patch '$name': expected exactly $want match(es) in $file, found $n\n" unless $n == $want;
  $src =~ s/$re/$repl->()/ge;
  open(my $out, '>', $file) or die "patch: cannot write $file: $!\n";
  print $out $src;
  close $out;
  print "patched $file: $name\n";
}

# vkms: the Virtual and the Writeback encoders have no possible_clones, so a commit that puts both
# connectors on the one CRTC fails drm_atomic_check_valid_clones() with EINVAL. Let them clone
# each other, so the Virtual output keeps running while the writeback connector captures it.
edit("$vkms/vkms_output.c", 'vkms-possible-clones',
  qr/(\t\tif \(writeback\)\n\t\t\tDRM_ERROR\("Failed to init writeback connector\\n"\);\n)/,
  sub {
    "$1\t\telse {\n"
    . "\t\t\t/* directflip-lane: vkms-possible-clones */\n"
    . "\t\t\tu32 clones = drm_encoder_mask(encoder) |\n"
    . "\t\t\t\t     drm_encoder_mask(&output->wb_connector.encoder);\n"
    . "\t\t\tencoder->possible_clones = clones;\n"
    . "\t\t\toutput->wb_connector.encoder.possible_clones = clones;\n"
    . "\t\t}\n";
  });

# vkms (6.12): blend() composes each CRTC row y but hands vkms_writeback_row() `y_pos`, the
# source row of the last plane it looked at. With no rotation that is y; with a reflect-y (or
# 90/270) topmost plane it is that plane's rotated row, which runs negative: the composer then
# writes rows before the writeback buffer's vmap (a page fault in argb_u16_to_XRGB8888 from
# vkms_composer_worker, or silently someone else's memory) and the capture is mirrored. Write
# row y. 6.1's vkms composes the whole frame before writing back and has no such call.
if (index(slurp("$vkms/vkms_composer.c"), 'vkms_writeback_row(') >= 0) {
  edit("$vkms/vkms_composer.c", 'vkms-writeback-row',
    qr/\t\tif \(wb\)\n\t\t\tvkms_writeback_row\(wb, output_buffer, y_pos\);\n/,
    sub { "\t\tif (wb) /* directflip-lane: vkms-writeback-row */\n\t\t\tvkms_writeback_row(wb, output_buffer, y);\n" });
}

# vkms: vkms_disable_vblank() waits for a running vblank hrtimer callback (hrtimer_cancel), but
# DRM calls it holding dev->event_lock and vblank_time_lock with interrupts off, and the callback
# (drm_crtc_handle_vblank) spins on those very locks on the other CPU: a hard lockup of both CPUs
# with interrupts off, so no soft-lockup, RCU-stall or hung-task report (reported upstream as
# "drm/vblank: Hard lockup in __disable_vblank()", 2024). The lane hit it about once in six 6.12
# runs, when a CRTC went off during a vblank. Never wait there: disabling clears a flag and only
# tries to cancel; a callback already running sees the flag and stops the timer itself. A lock of
# its own (never held across drm_crtc_handle_vblank) orders the flag, the callback's forward and
# enable's restart, and the timer is set up once, so enabling never re-initialises a timer whose
# callback is still running.
edit("$vkms/vkms_drv.h", 'vkms-vblank-no-wait-fields',
  qr/(\tstruct hrtimer vblank_hrtimer;\n)/,
  sub {
    "$1\t/* directflip-lane: vkms-vblank-no-wait-fields */\n"
    . "\tspinlock_t df_lane_timer_lock;\n\tbool df_lane_vblank_on;\n\tbool df_lane_timer_ready;\n";
  });
edit("$vkms/vkms_crtc.c", 'vkms-vblank-no-wait-forward',
  qr/(\tfence_cookie = dma_fence_begin_signalling\(\);\n\n)\tret_overrun = hrtimer_forward_now\(&output->vblank_hrtimer,\n\t\t\t\t\t  output->period_ns\);\n/,
  sub {
    "$1\t/* directflip-lane: vkms-vblank-no-wait-forward */\n"
    . "\tspin_lock(&output->df_lane_timer_lock);\n"
    . "\tif (!output->df_lane_vblank_on) {\n"
    . "\t\tspin_unlock(&output->df_lane_timer_lock);\n"
    . "\t\tdma_fence_end_signalling(fence_cookie);\n\t\treturn HRTIMER_NORESTART;\n\t}\n"
    . "\tret_overrun = hrtimer_forward_now(&output->vblank_hrtimer,\n\t\t\t\t\t  output->period_ns);\n"
    . "\tspin_unlock(&output->df_lane_timer_lock);\n";
  });
edit("$vkms/vkms_crtc.c", 'vkms-vblank-no-wait-quiet',
  qr/\tif \(!ret\)\n(\t\tDRM_ERROR\("vkms failure on handling vblank"\);\n)/,
  sub { "\tif (!ret && READ_ONCE(output->df_lane_vblank_on)) /* directflip-lane: vkms-vblank-no-wait-quiet */\n$1" });
edit("$vkms/vkms_crtc.c", 'vkms-vblank-no-wait-restart',
  qr/\treturn HRTIMER_RESTART;\n/,
  sub {
    "\t/* directflip-lane: vkms-vblank-no-wait-restart */\n"
    . "\tspin_lock(&output->df_lane_timer_lock);\n"
    . "\tret = output->df_lane_vblank_on;\n"
    . "\tspin_unlock(&output->df_lane_timer_lock);\n"
    . "\treturn ret ? HRTIMER_RESTART : HRTIMER_NORESTART;\n";
  });
edit("$vkms/vkms_crtc.c", 'vkms-vblank-no-wait-enable',
  qr/\thrtimer_init\(&out->vblank_hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL\);\n\tout->vblank_hrtimer\.function = &vkms_vblank_simulate;\n\tout->period_ns = ktime_set\(0, vblank->framedur_ns\);\n\thrtimer_start\(&out->vblank_hrtimer, out->period_ns, HRTIMER_MODE_REL\);\n/,
  sub {
    "\tif (!out->df_lane_timer_ready) { /* directflip-lane: vkms-vblank-no-wait-enable */\n"
    . "\t\tspin_lock_init(&out->df_lane_timer_lock);\n"
    . "\t\thrtimer_init(&out->vblank_hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);\n"
    . "\t\tout->vblank_hrtimer.function = &vkms_vblank_simulate;\n"
    . "\t\tout->df_lane_timer_ready = true;\n\t}\n"
    . "\tout->period_ns = ktime_set(0, vblank->framedur_ns);\n"
    . "\tspin_lock(&out->df_lane_timer_lock);\n"
    . "\tout->df_lane_vblank_on = true;\n"
    . "\thrtimer_start(&out->vblank_hrtimer, out->period_ns, HRTIMER_MODE_REL);\n"
    . "\tspin_unlock(&out->df_lane_timer_lock);\n";
  });
edit("$vkms/vkms_crtc.c", 'vkms-vblank-no-wait-disable',
  qr/\thrtimer_cancel\(&out->vblank_hrtimer\);\n/,
  sub {
    "\tif (!out->df_lane_timer_ready) /* directflip-lane: vkms-vblank-no-wait-disable */\n\t\treturn;\n"
    . "\tspin_lock(&out->df_lane_timer_lock);\n"
    . "\tout->df_lane_vblank_on = false;\n"
    . "\thrtimer_try_to_cancel(&out->vblank_hrtimer);\n"
    . "\tspin_unlock(&out->df_lane_timer_lock);\n";
  });

# vkms: a test control, off unless a test sets it. /sys/module/vkms/parameters/df_lane_slow_vblank_us
# makes every vblank timer callback busy-wait that long before it takes the vblank locks, as a
# slow real interrupt handler would. It widens the lockup's window above from a few microseconds
# to hundreds, so vblank-off.lane.ts hangs the unpatched vkms within seconds instead of once in
# hundreds of runs.
edit("$vkms/vkms_crtc.c", 'vkms-slow-vblank-param',
  qr/(#include "vkms_drv\.h"\n)/,
  sub {
    "$1\n/* directflip-lane: vkms-slow-vblank-param */\n#include <linux/delay.h>\n#include <linux/moduleparam.h>\n"
    . "static unsigned int df_lane_slow_vblank_us;\n"
    . "module_param(df_lane_slow_vblank_us, uint, 0644);\n"
    . "MODULE_PARM_DESC(df_lane_slow_vblank_us, \"busy-wait this long (at most 1000) in each vblank timer callback (a test control)\");\n";
  });
edit("$vkms/vkms_crtc.c", 'vkms-slow-vblank-delay',
  qr/(\tspin_lock\(&output->lock\);\n\tret = drm_crtc_handle_vblank\(crtc\);\n)/,
  sub { "\tif (READ_ONCE(df_lane_slow_vblank_us)) /* directflip-lane: vkms-slow-vblank-delay */\n\t\tudelay(min(READ_ONCE(df_lane_slow_vblank_us), 1000U));\n$1" });

my $m = "$mbochs/mbochs.c";

# mbochs 1: the first non-probe query after a mode change allocates a dma-buf and discards the
# result, so it answers ENOMEM; keep it.
edit($m, 'mbochs-keep-alloc',
  qr/\tif \(!dmabuf\)\n\t\tmbochs_dmabuf_alloc\(mdev_state, &mode\);\n/,
  sub { "\tif (!dmabuf) /* directflip-lane: mbochs-keep-alloc */\n\t\tdmabuf = mbochs_dmabuf_alloc(mdev_state, &mode);\n" });

# mbochs 2: the dma-buf is exported read-only, so a userspace MAP_SHARED writable mmap fails.
edit($m, 'mbochs-export-rdwr',
  qr/(\texp_info\.priv = dmabuf;\n)/,
  sub { "$1\texp_info.flags = O_RDWR; /* directflip-lane: mbochs-export-rdwr */\n" });

# mbochs 3: no .vmap/.vunmap, so an importer that composes on the CPU (vkms, through
# drm_gem_shmem_vmap -> dma_buf_vmap) fails its commit with EINVAL after a good import and ADDFB2.
edit($m, 'mbochs-vmap-fns',
  qr/(static struct dma_buf_ops mbochs_dmabuf_ops = \{\n)/,
  sub {
    "/* directflip-lane: mbochs-vmap-fns */\n"
    . "static int mbochs_vmap_dmabuf(struct dma_buf *buf, struct iosys_map *map)\n{\n"
    . "\tstruct mbochs_dmabuf *dmabuf = buf->priv;\n"
    . "\tvoid *vaddr = vmap(dmabuf->pages, dmabuf->pagecount, 0, PAGE_KERNEL);\n\n"
    . "\tif (!vaddr)\n\t\treturn -ENOMEM;\n"
    . "\tiosys_map_set_vaddr(map, vaddr);\n\treturn 0;\n}\n\n"
    . "static void mbochs_vunmap_dmabuf(struct dma_buf *buf, struct iosys_map *map)\n{\n"
    . "\tvunmap(map->vaddr);\n}\n\n"
    . $1;
  });
edit($m, 'mbochs-vmap-ops',
  qr/(\t\.mmap\t\t  = mbochs_mmap_dmabuf,\n)/,
  sub { "$1\t.vmap\t\t  = mbochs_vmap_dmabuf, /* directflip-lane: mbochs-vmap-ops */\n\t.vunmap\t\t  = mbochs_vunmap_dmabuf,\n" });

# mbochs 4: read()/write() on BAR0 subtract the MMIO BAR's offset instead of the memory BAR's, so
# they land two pages past what mmap() and the dma-bufs see (and the last two pages index past
# the page array). Subtract the memory BAR's offset.
edit($m, 'mbochs-bar0-offset',
  qr/(\t\t   MBOCHS_MEMORY_BAR_OFFSET \+ mdev_state->memsize\) \{\n)\t\tpos -= MBOCHS_MMIO_BAR_OFFSET;\n/,
  sub { "$1\t\tpos -= MBOCHS_MEMORY_BAR_OFFSET; /* directflip-lane: mbochs-bar0-offset */\n" });

# udmabuf (6.1, where Debian sets no CONFIG_UDMABUF), built out of tree: it reads a memfd's seals
# with memfd_fcntl() and tells hugetlbfs files apart with is_file_hugepages(), neither exported to
# modules, and it uses the DMA_BUF symbol namespace without importing it (a built-in need not).
# Read the seals from the shmem inode as memfd_fcntl(F_GET_SEALS) does for shmem, and take no
# hugetlbfs memfds (refused EBADFD, as any non-shmem file is): the lane's memfds are shmem.
if ($udmabuf) {
  my $u = "$udmabuf/udmabuf.c";
  edit($u, 'udmabuf-seals-fn',
    qr/(#define SEALS_WANTED \(F_SEAL_SHRINK\)\n)/,
    sub {
      "/* directflip-lane: udmabuf-seals-fn */\n"
      . "static int df_lane_memfd_seals(struct file *f)\n{\n"
      . "\treturn shmem_mapping(f->f_mapping) ? (int)SHMEM_I(file_inode(f))->seals : -EINVAL;\n}\n\n"
      . "static bool df_lane_is_hugetlb(struct file *f)\n{\n\treturn false;\n}\n\n"
      . $1;
    });
  edit($u, 'udmabuf-seals-call', qr/memfd_fcntl\(memfd, F_GET_SEALS, 0\)/,
    sub { "df_lane_memfd_seals(memfd) /* directflip-lane: udmabuf-seals-call */" });
  edit($u, 'udmabuf-no-hugetlb', qr/is_file_hugepages\(memfd\)/,
    sub { "df_lane_is_hugetlb(memfd) /* directflip-lane: udmabuf-no-hugetlb */" }, 3);
  # No .vmap (upstream added it in 6.3): vkms composes on the CPU, so its commit of an imported
  # udmabuf fails EINVAL at drm_gem_fb_vmap(). Backport it: the pages mapped with vm_map_ram().
  edit($u, 'udmabuf-vmap-fns', qr/(static const struct dma_buf_ops udmabuf_ops = \{\n)/,
    sub {
      "/* directflip-lane: udmabuf-vmap-fns */\n"
      . "static int vmap_udmabuf(struct dma_buf *buf, struct iosys_map *map)\n{\n"
      . "\tstruct udmabuf *ubuf = buf->priv;\n\tvoid *vaddr = vm_map_ram(ubuf->pages, ubuf->pagecount, -1);\n\n"
      . "\tif (!vaddr)\n\t\treturn -EINVAL;\n\tiosys_map_set_vaddr(map, vaddr);\n\treturn 0;\n}\n\n"
      . "static void vunmap_udmabuf(struct dma_buf *buf, struct iosys_map *map)\n{\n"
      . "\tstruct udmabuf *ubuf = buf->priv;\n\n\tvm_unmap_ram(map->vaddr, ubuf->pagecount);\n}\n\n"
      . $1;
    });
  edit($u, 'udmabuf-vmap-ops', qr/(\t\.mmap\t\t   = mmap_udmabuf,\n)/,
    sub { "$1\t.vmap\t\t   = vmap_udmabuf, /* directflip-lane: udmabuf-vmap-ops */\n\t.vunmap\t\t   = vunmap_udmabuf,\n" });
  edit($u, 'udmabuf-import-ns', qr/(MODULE_LICENSE\("GPL v2"\);\n)/,
    sub { "${1}MODULE_IMPORT_NS(DMA_BUF); /* directflip-lane: udmabuf-import-ns */\n" });
}
