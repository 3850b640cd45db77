// VFIO container, group and device ioctls, and region access by pread/pwrite.
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <linux/vfio.h>
#include <unistd.h>

#include "errors.h"

using namespace Napi;

// Out of tree: Intel's `topic/local_display_direct_flip` QEMU/kernel branches. Mainline drivers
// answer PROBE with this flag with EINVAL, which makes the probe the capability test.
#define DF_VFIO_GFX_PLANE_TYPE_DRM_OUT_OF_TREE (1 << 3)

static_assert(sizeof(struct vfio_device_gfx_plane_info) == 64, "vfio_device_gfx_plane_info is 64 bytes");
static_assert(offsetof(struct vfio_device_gfx_plane_info, drm_format_mod) == 16, "drm_format_mod offset");
static_assert(offsetof(struct vfio_device_gfx_plane_info, dmabuf_id) == 56, "the union sits at offset 56");
static_assert(offsetof(struct vfio_device_gfx_plane_info, region_index) == 56, "the union sits at offset 56");
static_assert(offsetof(struct vfio_region_info, offset) == 24, "vfio_region_info layout");
static_assert((VFIO_GFX_PLANE_TYPE_REGION << 1) == DF_VFIO_GFX_PLANE_TYPE_DRM_OUT_OF_TREE, "Intel's flag follows REGION");

namespace df {

static Value SimpleIoctl(const CallbackInfo& info, unsigned long req, const char* name, unsigned long arg) {
  int r = Ioctl(ArgFd(info, 0), req, reinterpret_cast<void*>(arg));
  if (r == -1) ThrowSys(info.Env(), errno, name, ArgPath(info, 1));
  return Number::New(info.Env(), r);
}

static Value GetApiVersion(const CallbackInfo& info) { return SimpleIoctl(info, VFIO_GET_API_VERSION, "VFIO_GET_API_VERSION", 0); }
static Value CheckExtension(const CallbackInfo& info) {
  return SimpleIoctl(info, VFIO_CHECK_EXTENSION, "VFIO_CHECK_EXTENSION", ArgU32(info, 2, "extension"));
}
static Value SetIommu(const CallbackInfo& info) { return SimpleIoctl(info, VFIO_SET_IOMMU, "VFIO_SET_IOMMU", ArgU32(info, 2, "IOMMU type")); }

static Value GroupGetStatus(const CallbackInfo& info) {
  vfio_group_status s{};
  s.argsz = sizeof s;
  IoctlOrThrow(info.Env(), ArgFd(info, 0), VFIO_GROUP_GET_STATUS, &s, "VFIO_GROUP_GET_STATUS", ArgPath(info, 1));
  Object o = Object::New(info.Env());
  o.Set("flags", s.flags);
  return o;
}

static Value GroupSetContainer(const CallbackInfo& info) {
  int container = ArgFd(info, 2);
  IoctlOrThrow(info.Env(), ArgFd(info, 0), VFIO_GROUP_SET_CONTAINER, &container, "VFIO_GROUP_SET_CONTAINER", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value GroupGetDeviceFd(const CallbackInfo& info) {
  if (info.Length() < 3 || !info[2].IsString()) throw TypeError::New(info.Env(), "argument 3: device name must be a string");
  std::string name = info[2].As<String>().Utf8Value();
  int fd = IoctlOrThrow(info.Env(), ArgFd(info, 0), VFIO_GROUP_GET_DEVICE_FD, const_cast<char*>(name.c_str()), "VFIO_GROUP_GET_DEVICE_FD",
                        ArgPath(info, 1));
  return Number::New(info.Env(), fd);
}

static Value DeviceGetInfo(const CallbackInfo& info) {
  vfio_device_info d{};
  d.argsz = sizeof d;
  IoctlOrThrow(info.Env(), ArgFd(info, 0), VFIO_DEVICE_GET_INFO, &d, "VFIO_DEVICE_GET_INFO", ArgPath(info, 1));
  Object o = Object::New(info.Env());
  o.Set("flags", d.flags);
  o.Set("numRegions", d.num_regions);
  o.Set("numIrqs", d.num_irqs);
  return o;
}

static Value DeviceGetRegionInfo(const CallbackInfo& info) {
  Env env = info.Env();
  vfio_region_info r{};
  r.argsz = sizeof r;
  r.index = ArgU32(info, 2, "region index");
  IoctlOrThrow(env, ArgFd(info, 0), VFIO_DEVICE_GET_REGION_INFO, &r, "VFIO_DEVICE_GET_REGION_INFO", ArgPath(info, 1));
  Object o = Object::New(env);
  o.Set("index", r.index);
  o.Set("flags", r.flags);
  o.Set("size", BigInt::New(env, static_cast<uint64_t>(r.size)));
  o.Set("offset", BigInt::New(env, static_cast<uint64_t>(r.offset)));
  return o;
}

static Value QueryGfxPlane(const CallbackInfo& info) {
  Env env = info.Env();
  // i915 does not clear what it does not fill: zero the whole struct before every call.
  vfio_device_gfx_plane_info p{};
  p.argsz = sizeof p;
  p.flags = ArgU32(info, 2, "flags");
  p.drm_plane_type = ArgU32(info, 3, "drm plane type");
  IoctlOrThrow(env, ArgFd(info, 0), VFIO_DEVICE_QUERY_GFX_PLANE, &p, "VFIO_DEVICE_QUERY_GFX_PLANE", ArgPath(info, 1));
  uint32_t unionValue;
  memcpy(&unionValue, reinterpret_cast<uint8_t*>(&p) + 56, sizeof unionValue);
  Object o = Object::New(env);
  o.Set("flags", p.flags);
  o.Set("drmPlaneType", p.drm_plane_type);
  o.Set("drmFormat", p.drm_format);
  o.Set("drmFormatMod", BigInt::New(env, static_cast<uint64_t>(p.drm_format_mod)));
  o.Set("width", p.width), o.Set("height", p.height), o.Set("stride", p.stride), o.Set("size", p.size);
  o.Set("xPos", p.x_pos), o.Set("yPos", p.y_pos), o.Set("xHot", p.x_hot), o.Set("yHot", p.y_hot);
  o.Set("regionIndex", unionValue), o.Set("dmabufId", unionValue), o.Set("drmFbId", unionValue);
  return o;
}

static Value GetGfxDmabuf(const CallbackInfo& info) {
  uint32_t id = ArgU32(info, 2, "dmabuf id");
  int fd = IoctlOrThrow(info.Env(), ArgFd(info, 0), VFIO_DEVICE_GET_GFX_DMABUF, &id, "VFIO_DEVICE_GET_GFX_DMABUF", ArgPath(info, 1));
  return Number::New(info.Env(), fd);
}

static Value RegionRead(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  uint64_t offset = ArgU64(info, 2, "offset");
  uint32_t len = ArgU32(info, 3, "length");
  Buffer<uint8_t> out = Buffer<uint8_t>::New(env, len);
  for (size_t done = 0; done < len;) {
    ssize_t n = pread(fd, out.Data() + done, len - done, static_cast<off_t>(offset + done));
    if (n == -1 && errno == EINTR) continue;
    if (n == -1) ThrowSys(env, errno, "pread", ArgPath(info, 1));
    if (n == 0) ThrowSys(env, EIO, "pread", ArgPath(info, 1));
    done += n;
  }
  return out;
}

static Value RegionWrite(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  uint64_t offset = ArgU64(info, 2, "offset");
  Buffer<uint8_t> data = ArgBuffer(info, 3, "data");
  for (size_t done = 0; done < data.Length();) {
    ssize_t n = pwrite(fd, data.Data() + done, data.Length() - done, static_cast<off_t>(offset + done));
    if (n == -1 && errno == EINTR) continue;
    if (n == -1) ThrowSys(env, errno, "pwrite", ArgPath(info, 1));
    done += n;
  }
  return env.Undefined();
}

void InitVfio(Env env, Object exports) {
  exports.Set("vfioGetApiVersion", Function::New(env, GetApiVersion, "vfioGetApiVersion"));
  exports.Set("vfioCheckExtension", Function::New(env, CheckExtension, "vfioCheckExtension"));
  exports.Set("vfioSetIommu", Function::New(env, SetIommu, "vfioSetIommu"));
  exports.Set("vfioGroupGetStatus", Function::New(env, GroupGetStatus, "vfioGroupGetStatus"));
  exports.Set("vfioGroupSetContainer", Function::New(env, GroupSetContainer, "vfioGroupSetContainer"));
  exports.Set("vfioGroupGetDeviceFd", Function::New(env, GroupGetDeviceFd, "vfioGroupGetDeviceFd"));
  exports.Set("vfioDeviceGetInfo", Function::New(env, DeviceGetInfo, "vfioDeviceGetInfo"));
  exports.Set("vfioDeviceGetRegionInfo", Function::New(env, DeviceGetRegionInfo, "vfioDeviceGetRegionInfo"));
  exports.Set("vfioQueryGfxPlane", Function::New(env, QueryGfxPlane, "vfioQueryGfxPlane"));
  exports.Set("vfioGetGfxDmabuf", Function::New(env, GetGfxDmabuf, "vfioGetGfxDmabuf"));
  exports.Set("vfioRegionRead", Function::New(env, RegionRead, "vfioRegionRead"));
  exports.Set("vfioRegionWrite", Function::New(env, RegionWrite, "vfioRegionWrite"));
  Object layout = Object::New(env);
  layout.Set("gfxPlaneInfoSize", sizeof(vfio_device_gfx_plane_info));
  layout.Set("gfxPlaneUnionOffset", offsetof(vfio_device_gfx_plane_info, dmabuf_id));
  layout.Set("gfxPlaneTypeDrmOutOfTree", DF_VFIO_GFX_PLANE_TYPE_DRM_OUT_OF_TREE);
  exports.Set("vfioLayout", layout);
}

}  // namespace df
