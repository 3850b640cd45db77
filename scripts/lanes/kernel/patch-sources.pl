#!/usr/bin/perl
# Applies the kernel lane's small fixes to the GPL sources extracted from linux-source at test
# time (they are never committed). Usage: patch-sources.pl VKMS_DIR MBOCHS_DIR
# Every edit must apply exactly once; anything else is a loud failure naming the edit, so a
# changed upstream file is noticed rather than silently built unpatched.
use strict;
use warnings;

my ($vkms, $mbochs) = @ARGV;
die "usage: $0 VKMS_DIR MBOCHS_DIR\n" unless $vkms && $mbochs;

sub edit {
  my ($file, $name, $re, $repl) = @_;
  local $/;
  open(my $in, '<', $file) or die "patch: cannot read $file: $!\n";
  my $src = <$in>;
  close $in;
  return if index($src, "directflip-lane: $name") >= 0;    # already applied
  my $n = () = $src =~ /$re/g;
  die "patch '$name': expected exactly one match in $file, found $n\n" unless $n == 1;
  $src =~ s/$re/$repl->()/e;
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
