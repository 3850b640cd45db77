/*
 * The floor of the dma-buf frame path (issue 16): the bare ioctl sequence a compositor needs to
 * show a guest's dma-buf on a plane, with nothing around it. A vgem dumb buffer is exported as a
 * dma-buf and PRIME-imported into the KMS device once; then, per frame: ADDFB2, a nonblocking
 * atomic flip with a page-flip event, wait for that event, RMFB the previous framebuffer.
 *
 * Usage: floor KMS_CARD VGEM_CARD CRTC PLANE FB_ID CRTC_ID SRC_X SRC_Y SRC_W SRC_H
 *              CRTC_X CRTC_Y CRTC_W CRTC_H W H X Y FRAMES
 * (the property ids of PLANE, in that order; the caller reads them from the topology).
 * The caller must not hold DRM master on KMS_CARD: this program takes it.
 *
 * Output, one line per frame: `f I ISSUE_NS AFTER_NS`, where ISSUE_NS is the frame's start to
 * the atomic ioctl's return (ADDFB2 included) and AFTER_NS the flip's kernel timestamp to the
 * event read and the old fb removed; then `rusage USER_US SYS_US` for the whole frame loop.
 * Errors: `floor: WHAT: strerror` on stderr, exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

static void die(const char *what) {
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int xioctl(int fd, unsigned long req, void *arg) {
	int r;
	do r = ioctl(fd, req, arg);
	while (r == -1 && (errno == EINTR || errno == EAGAIN));
	return r;
}

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t tv_us(struct timeval tv) {
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

/* Waits for the flip event carrying `tag`; returns its kernel timestamp (CLOCK_MONOTONIC, ns). */
static uint64_t wait_flip(int fd, uint64_t tag) {
	char buf[1024];
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, 1000) == 0) {
			errno = ETIMEDOUT;
			die("waiting for the flip event");
		}
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			die("read of the DRM events");
		}
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct drm_event) <= n;) {
			struct drm_event *e = (struct drm_event *)(buf + off);
			if (e->type == DRM_EVENT_FLIP_COMPLETE) {
				struct drm_event_vblank *v = (struct drm_event_vblank *)e;
				if (v->user_data == tag) return (uint64_t)v->tv_sec * 1000000000u + (uint64_t)v->tv_usec * 1000u;
			}
			if (e->length == 0) break;
			off += e->length;
		}
	}
}

int main(int argc, char **argv) {
	if (argc != 20) {
		fprintf(stderr, "usage: floor KMS_CARD VGEM_CARD CRTC PLANE FB_ID CRTC_ID SRC_X SRC_Y SRC_W SRC_H CRTC_X CRTC_Y CRTC_W CRTC_H W H X Y FRAMES\n");
		return 2;
	}
	uint32_t crtc = (uint32_t)strtoul(argv[3], NULL, 10), plane = (uint32_t)strtoul(argv[4], NULL, 10);
	uint32_t props[10];
	for (int i = 0; i < 10; i++) props[i] = (uint32_t)strtoul(argv[5 + i], NULL, 10);
	uint32_t w = (uint32_t)strtoul(argv[15], NULL, 10), h = (uint32_t)strtoul(argv[16], NULL, 10);
	uint32_t x = (uint32_t)strtoul(argv[17], NULL, 10), y = (uint32_t)strtoul(argv[18], NULL, 10);
	int frames = atoi(argv[19]);

	int kms = open(argv[1], O_RDWR | O_CLOEXEC);
	if (kms < 0) die(argv[1]);
	int vgem = open(argv[2], O_RDWR | O_CLOEXEC);
	if (vgem < 0) die(argv[2]);
	if (xioctl(kms, DRM_IOCTL_SET_MASTER, NULL)) die("DRM_IOCTL_SET_MASTER");
	struct drm_set_client_cap cap = { .capability = DRM_CLIENT_CAP_UNIVERSAL_PLANES, .value = 1 };
	if (xioctl(kms, DRM_IOCTL_SET_CLIENT_CAP, &cap)) die("DRM_CLIENT_CAP_UNIVERSAL_PLANES");
	cap.capability = DRM_CLIENT_CAP_ATOMIC;
	if (xioctl(kms, DRM_IOCTL_SET_CLIENT_CAP, &cap)) die("DRM_CLIENT_CAP_ATOMIC");

	/* The guest's buffer: a vgem dumb buffer, exported as a dma-buf, imported once. */
	struct drm_mode_create_dumb dumb = { .width = w, .height = h, .bpp = 32 };
	if (xioctl(vgem, DRM_IOCTL_MODE_CREATE_DUMB, &dumb)) die("vgem DRM_IOCTL_MODE_CREATE_DUMB");
	struct drm_prime_handle exp = { .handle = dumb.handle, .flags = DRM_CLOEXEC | DRM_RDWR };
	if (xioctl(vgem, DRM_IOCTL_PRIME_HANDLE_TO_FD, &exp)) die("vgem DRM_IOCTL_PRIME_HANDLE_TO_FD");
	struct drm_prime_handle imp = { .fd = exp.fd };
	if (xioctl(kms, DRM_IOCTL_PRIME_FD_TO_HANDLE, &imp)) die("DRM_IOCTL_PRIME_FD_TO_HANDLE");

	uint32_t objs[1] = { plane };
	uint32_t counts[1] = { 10 };
	uint64_t values[10] = { 0, crtc, 0, 0, (uint64_t)w << 16, (uint64_t)h << 16, x, y, w, h };
	uint32_t prev = 0;
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	for (int i = 0; i < frames; i++) {
		uint64_t t0 = now_ns();
		struct drm_mode_fb_cmd2 fb = { .width = w, .height = h, .pixel_format = DRM_FORMAT_XRGB8888 };
		fb.handles[0] = imp.handle;
		fb.pitches[0] = dumb.pitch;
		if (xioctl(kms, DRM_IOCTL_MODE_ADDFB2, &fb)) die("DRM_IOCTL_MODE_ADDFB2");
		values[0] = fb.fb_id;
		struct drm_mode_atomic req = {
			.flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
			.count_objs = 1,
			.objs_ptr = (uintptr_t)objs,
			.count_props_ptr = (uintptr_t)counts,
			.props_ptr = (uintptr_t)props,
			.prop_values_ptr = (uintptr_t)values,
			.user_data = (uint64_t)i + 1,
		};
		if (xioctl(kms, DRM_IOCTL_MODE_ATOMIC, &req)) die("DRM_IOCTL_MODE_ATOMIC");
		uint64_t t1 = now_ns();
		uint64_t flipped = wait_flip(kms, (uint64_t)i + 1);
		if (prev && xioctl(kms, DRM_IOCTL_MODE_RMFB, &prev)) die("DRM_IOCTL_MODE_RMFB");
		prev = fb.fb_id;
		uint64_t t2 = now_ns();
		printf("f %d %llu %llu\n", i, (unsigned long long)(t1 - t0), (unsigned long long)(t2 > flipped ? t2 - flipped : 0));
	}
	getrusage(RUSAGE_SELF, &r1);
	printf("rusage %llu %llu\n", (unsigned long long)(tv_us(r1.ru_utime) - tv_us(r0.ru_utime)), (unsigned long long)(tv_us(r1.ru_stime) - tv_us(r0.ru_stime)));

	/* Off the plane before the fb goes (vkms must be done with the imported buffer). */
	uint64_t off[10] = { 0 };
	struct drm_mode_atomic req = { .count_objs = 1, .objs_ptr = (uintptr_t)objs, .count_props_ptr = (uintptr_t)counts, .props_ptr = (uintptr_t)props, .prop_values_ptr = (uintptr_t)off };
	if (xioctl(kms, DRM_IOCTL_MODE_ATOMIC, &req)) die("DRM_IOCTL_MODE_ATOMIC (plane off)");
	if (prev) xioctl(kms, DRM_IOCTL_MODE_RMFB, &prev);
	struct drm_gem_close gc = { .handle = imp.handle };
	xioctl(kms, DRM_IOCTL_GEM_CLOSE, &gc);
	close(exp.fd);
	gc.handle = dumb.handle;
	xioctl(vgem, DRM_IOCTL_GEM_CLOSE, &gc);
	fflush(stdout);
	return 0;
}
