// DRM/KMS ioctls over an fd the caller opened. Count/alloc ioctls re-query until stable.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <drm.h>
#include <drm_mode.h>
#include <map>
#include <vector>

#include "errors.h"

using namespace Napi;

static_assert(sizeof(struct drm_mode_modeinfo) == 68, "drm_mode_modeinfo layout");
static_assert(sizeof(struct drm_mode_fb_cmd2) == 104, "drm_mode_fb_cmd2 layout");
static_assert(offsetof(struct drm_mode_fb_cmd2, modifier) == 72, "drm_mode_fb_cmd2.modifier offset");
static_assert(sizeof(struct drm_mode_atomic) == 56, "drm_mode_atomic layout");
static_assert(offsetof(struct drm_mode_atomic, user_data) == 48, "drm_mode_atomic.user_data offset");
static_assert(sizeof(struct drm_mode_get_plane) == 32, "drm_mode_get_plane layout");
static_assert(sizeof(struct drm_mode_get_connector) == 80, "drm_mode_get_connector layout");
static_assert(sizeof(struct drm_mode_create_dumb) == 32, "drm_mode_create_dumb layout");
static_assert(sizeof(struct drm_event_vblank) == 32, "drm_event_vblank layout");

namespace df {

// Modes are decoded here field for field, so JS never sees the raw struct.
Object ModeToJs(Env env, const drm_mode_modeinfo& m) {
  Object o = Object::New(env);
  o.Set("clock", m.clock);
  o.Set("hdisplay", m.hdisplay);
  o.Set("hsyncStart", m.hsync_start);
  o.Set("hsyncEnd", m.hsync_end);
  o.Set("htotal", m.htotal);
  o.Set("hskew", m.hskew);
  o.Set("vdisplay", m.vdisplay);
  o.Set("vsyncStart", m.vsync_start);
  o.Set("vsyncEnd", m.vsync_end);
  o.Set("vtotal", m.vtotal);
  o.Set("vscan", m.vscan);
  o.Set("vrefresh", m.vrefresh);
  o.Set("flags", m.flags);
  o.Set("type", m.type);
  o.Set("name", String::New(env, m.name, strnlen(m.name, sizeof m.name)));
  return o;
}

template <typename T>
static Array ToArray(Env env, const std::vector<T>& v) {
  Array a = Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(i, Number::New(env, static_cast<double>(v[i])));
  return a;
}

static Value Version(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  drm_version v{};
  std::vector<char> name, date, desc;
  for (;;) {
    IoctlOrThrow(env, fd, DRM_IOCTL_VERSION, &v, "DRM_IOCTL_VERSION", path);
    size_t n = v.name_len, d = v.date_len, s = v.desc_len;
    if (name.size() == n && date.size() == d && desc.size() == s) break;
    name.assign(n, 0), date.assign(d, 0), desc.assign(s, 0);
    v = drm_version{};
    v.name_len = n, v.date_len = d, v.desc_len = s;
    v.name = name.data(), v.date = date.data(), v.desc = desc.data();
  }
  Object o = Object::New(env);
  o.Set("major", v.version_major);
  o.Set("minor", v.version_minor);
  o.Set("patch", v.version_patchlevel);
  o.Set("name", String::New(env, name.data(), name.size()));
  o.Set("date", String::New(env, date.data(), date.size()));
  o.Set("desc", String::New(env, desc.data(), desc.size()));
  return o;
}

static Value GetCap(const CallbackInfo& info) {
  drm_get_cap c{};
  c.capability = ArgU32(info, 2, "capability");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_GET_CAP, &c, "DRM_IOCTL_GET_CAP", ArgPath(info, 1));
  return BigInt::New(info.Env(), static_cast<uint64_t>(c.value));
}

static Value SetClientCap(const CallbackInfo& info) {
  drm_set_client_cap c{};
  c.capability = ArgU32(info, 2, "capability");
  c.value = ArgU32(info, 3, "value");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_SET_CLIENT_CAP, &c, "DRM_IOCTL_SET_CLIENT_CAP", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value SetMaster(const CallbackInfo& info) {
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_SET_MASTER, nullptr, "DRM_IOCTL_SET_MASTER", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value DropMaster(const CallbackInfo& info) {
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_DROP_MASTER, nullptr, "DRM_IOCTL_DROP_MASTER", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value GetResources(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  drm_mode_card_res r{};
  std::vector<uint32_t> fbs, crtcs, conns, encs;
  for (;;) {
    r.fb_id_ptr = Ptr(fbs.data()), r.crtc_id_ptr = Ptr(crtcs.data());
    r.connector_id_ptr = Ptr(conns.data()), r.encoder_id_ptr = Ptr(encs.data());
    r.count_fbs = fbs.size(), r.count_crtcs = crtcs.size(), r.count_connectors = conns.size(), r.count_encoders = encs.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETRESOURCES, &r, "DRM_IOCTL_MODE_GETRESOURCES", path);
    // Hotplug can change the counts between the two calls: ask again until they hold.
    if (r.count_fbs == fbs.size() && r.count_crtcs == crtcs.size() && r.count_connectors == conns.size() && r.count_encoders == encs.size()) break;
    fbs.assign(r.count_fbs, 0), crtcs.assign(r.count_crtcs, 0), conns.assign(r.count_connectors, 0), encs.assign(r.count_encoders, 0);
  }
  Object o = Object::New(env);
  o.Set("fbs", ToArray(env, fbs));
  o.Set("crtcs", ToArray(env, crtcs));
  o.Set("connectors", ToArray(env, conns));
  o.Set("encoders", ToArray(env, encs));
  o.Set("minWidth", r.min_width);
  o.Set("maxWidth", r.max_width);
  o.Set("minHeight", r.min_height);
  o.Set("maxHeight", r.max_height);
  return o;
}

static Value GetConnector(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  drm_mode_get_connector c{};
  uint32_t id = ArgU32(info, 2, "connector id");
  // count_modes is never 0: for a master that asks the driver to probe the connector again
  // (drm_mode_getconnector → fill_modes), which re-reads EDID over DDC and can take tens of ms per
  // call on real hardware. With room for at least one mode the kernel reports what it already
  // knows, as libdrm's drmModeGetConnectorCurrent does; the kernel itself probes on hotplug.
  std::vector<drm_mode_modeinfo> modes(8);
  std::vector<uint32_t> encs(4);
  for (;;) {
    c = drm_mode_get_connector{};
    c.connector_id = id;
    c.modes_ptr = Ptr(modes.data()), c.count_modes = modes.size();
    c.encoders_ptr = Ptr(encs.data()), c.count_encoders = encs.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETCONNECTOR, &c, "DRM_IOCTL_MODE_GETCONNECTOR", path);
    // The kernel copies only when everything fits, and always says how many there are.
    if (c.count_modes <= modes.size() && c.count_encoders <= encs.size()) {
      modes.resize(c.count_modes), encs.resize(c.count_encoders);
      break;
    }
    modes.assign(std::max<size_t>(c.count_modes, 1), drm_mode_modeinfo{}), encs.assign(std::max<size_t>(c.count_encoders, 1), 0);
  }
  Object o = Object::New(env);
  o.Set("connectorId", c.connector_id);
  o.Set("encoderId", c.encoder_id);
  o.Set("connectorType", c.connector_type);
  o.Set("connectorTypeId", c.connector_type_id);
  o.Set("connection", c.connection);
  o.Set("mmWidth", c.mm_width);
  o.Set("mmHeight", c.mm_height);
  o.Set("subpixel", c.subpixel);
  Array m = Array::New(env, modes.size());
  for (size_t i = 0; i < modes.size(); i++) m.Set(i, ModeToJs(env, modes[i]));
  o.Set("modes", m);
  o.Set("encoders", ToArray(env, encs));
  return o;
}

static Value GetEncoder(const CallbackInfo& info) {
  drm_mode_get_encoder e{};
  e.encoder_id = ArgU32(info, 2, "encoder id");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_GETENCODER, &e, "DRM_IOCTL_MODE_GETENCODER", ArgPath(info, 1));
  Object o = Object::New(info.Env());
  o.Set("encoderId", e.encoder_id);
  o.Set("encoderType", e.encoder_type);
  o.Set("crtcId", e.crtc_id);
  o.Set("possibleCrtcs", e.possible_crtcs);
  o.Set("possibleClones", e.possible_clones);
  return o;
}

static Value GetCrtc(const CallbackInfo& info) {
  Env env = info.Env();
  drm_mode_crtc c{};
  c.crtc_id = ArgU32(info, 2, "CRTC id");
  IoctlOrThrow(env, ArgFd(info, 0), DRM_IOCTL_MODE_GETCRTC, &c, "DRM_IOCTL_MODE_GETCRTC", ArgPath(info, 1));
  Object o = Object::New(env);
  o.Set("crtcId", c.crtc_id);
  o.Set("fbId", c.fb_id);
  o.Set("x", c.x);
  o.Set("y", c.y);
  o.Set("gammaSize", c.gamma_size);
  o.Set("modeValid", Boolean::New(env, c.mode_valid != 0));
  o.Set("mode", c.mode_valid ? Value(ModeToJs(env, c.mode)) : env.Null());
  return o;
}

static Value GetPlaneResources(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  std::vector<uint32_t> ids;
  for (;;) {
    drm_mode_get_plane_res r{};
    r.plane_id_ptr = Ptr(ids.data()), r.count_planes = ids.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETPLANERESOURCES, &r, "DRM_IOCTL_MODE_GETPLANERESOURCES", path);
    if (r.count_planes == ids.size()) break;
    ids.assign(r.count_planes, 0);
  }
  return ToArray(env, ids);
}

static Value GetPlane(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  uint32_t id = ArgU32(info, 2, "plane id");
  std::vector<uint32_t> formats;
  drm_mode_get_plane p{};
  for (;;) {
    p = drm_mode_get_plane{};
    p.plane_id = id;
    p.format_type_ptr = Ptr(formats.data()), p.count_format_types = formats.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETPLANE, &p, "DRM_IOCTL_MODE_GETPLANE", path);
    if (p.count_format_types == formats.size()) break;
    formats.assign(p.count_format_types, 0);
  }
  Object o = Object::New(env);
  o.Set("planeId", p.plane_id);
  o.Set("crtcId", p.crtc_id);
  o.Set("fbId", p.fb_id);
  o.Set("possibleCrtcs", p.possible_crtcs);
  o.Set("gammaSize", p.gamma_size);
  o.Set("formats", ToArray(env, formats));
  return o;
}

static Value ObjGetProperties(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  uint32_t obj = ArgU32(info, 2, "object id"), type = ArgU32(info, 3, "object type");
  std::vector<uint32_t> props;
  std::vector<uint64_t> values;
  for (;;) {
    drm_mode_obj_get_properties g{};
    g.obj_id = obj, g.obj_type = type;
    g.props_ptr = Ptr(props.data()), g.prop_values_ptr = Ptr(values.data()), g.count_props = props.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &g, "DRM_IOCTL_MODE_OBJ_GETPROPERTIES", path);
    if (g.count_props == props.size()) break;
    props.assign(g.count_props, 0), values.assign(g.count_props, 0);
  }
  Object o = Object::New(env);
  o.Set("props", ToArray(env, props));
  Array v = Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) v.Set(i, BigInt::New(env, values[i]));
  o.Set("values", v);
  return o;
}

static Value GetProperty(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  uint32_t id = ArgU32(info, 2, "property id");
  std::vector<uint64_t> values;
  std::vector<drm_mode_property_enum> enums;
  drm_mode_get_property p{};
  for (;;) {
    p = drm_mode_get_property{};
    p.prop_id = id;
    p.values_ptr = Ptr(values.data()), p.count_values = values.size();
    p.enum_blob_ptr = Ptr(enums.data()), p.count_enum_blobs = enums.size();
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETPROPERTY, &p, "DRM_IOCTL_MODE_GETPROPERTY", path);
    bool isEnum = p.flags & (DRM_MODE_PROP_ENUM | DRM_MODE_PROP_BITMASK);
    size_t wantEnums = isEnum ? p.count_enum_blobs : 0;
    if (p.count_values == values.size() && wantEnums == enums.size()) break;
    values.assign(p.count_values, 0), enums.assign(wantEnums, drm_mode_property_enum{});
  }
  Object o = Object::New(env);
  o.Set("propId", p.prop_id);
  o.Set("name", String::New(env, p.name, strnlen(p.name, sizeof p.name)));
  o.Set("flags", p.flags);
  Array v = Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); i++) v.Set(i, BigInt::New(env, values[i]));
  o.Set("values", v);
  Array e = Array::New(env, enums.size());
  for (size_t i = 0; i < enums.size(); i++) {
    Object x = Object::New(env);
    x.Set("name", String::New(env, enums[i].name, strnlen(enums[i].name, sizeof enums[i].name)));
    x.Set("value", BigInt::New(env, static_cast<uint64_t>(enums[i].value)));
    e.Set(i, x);
  }
  o.Set("enums", e);
  return o;
}

static Value GetPropBlob(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  uint32_t id = ArgU32(info, 2, "blob id");
  std::vector<uint8_t> data;
  for (;;) {
    drm_mode_get_blob b{};
    b.blob_id = id, b.length = data.size(), b.data = Ptr(data.data());
    IoctlOrThrow(env, fd, DRM_IOCTL_MODE_GETPROPBLOB, &b, "DRM_IOCTL_MODE_GETPROPBLOB", path);
    if (b.length == data.size()) break;
    data.assign(b.length, 0);
  }
  return Buffer<uint8_t>::Copy(env, data.data(), data.size());
}

static Value CreatePropBlob(const CallbackInfo& info) {
  Buffer<uint8_t> data = ArgBuffer(info, 2, "data");
  drm_mode_create_blob b{};
  b.data = Ptr(data.Data()), b.length = data.Length();
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_CREATEPROPBLOB, &b, "DRM_IOCTL_MODE_CREATEPROPBLOB", ArgPath(info, 1));
  return Number::New(info.Env(), b.blob_id);
}

static Value DestroyPropBlob(const CallbackInfo& info) {
  drm_mode_destroy_blob b{};
  b.blob_id = ArgU32(info, 2, "blob id");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_DESTROYPROPBLOB, &b, "DRM_IOCTL_MODE_DESTROYPROPBLOB", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value AddFb2(const CallbackInfo& info) {
  Env env = info.Env();
  drm_mode_fb_cmd2 c{};
  c.width = ArgU32(info, 2, "width");
  c.height = ArgU32(info, 3, "height");
  c.pixel_format = ArgU32(info, 4, "pixel format");
  c.flags = ArgU32(info, 5, "flags");
  Array handles = ArgArray(info, 6, "handles"), pitches = ArgArray(info, 7, "pitches"), offsets = ArgArray(info, 8, "offsets"),
        mods = ArgArray(info, 9, "modifiers");
  for (uint32_t i = 0; i < 4; i++) {
    auto num = [&](Array a, const char* what) -> uint32_t {
      if (i >= a.Length()) return 0;
      Value v = a.Get(i);
      if (!v.IsNumber()) throw TypeError::New(env, std::string(what) + " must hold numbers");
      return v.As<Number>().Uint32Value();
    };
    c.handles[i] = num(handles, "handles");
    c.pitches[i] = num(pitches, "pitches");
    c.offsets[i] = num(offsets, "offsets");
    if (i < mods.Length()) {
      Value m = mods.Get(i);
      if (!m.IsBigInt()) throw TypeError::New(env, "modifiers must hold bigints");
      bool lossless;
      c.modifier[i] = m.As<BigInt>().Uint64Value(&lossless);
    }
  }
  IoctlOrThrow(env, ArgFd(info, 0), DRM_IOCTL_MODE_ADDFB2, &c, "DRM_IOCTL_MODE_ADDFB2", ArgPath(info, 1));
  return Number::New(env, c.fb_id);
}

static Value RmFb(const CallbackInfo& info) {
  unsigned int id = ArgU32(info, 2, "fb id");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_RMFB, &id, "DRM_IOCTL_MODE_RMFB", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value GetFb2(const CallbackInfo& info) {
  Env env = info.Env();
  drm_mode_fb_cmd2 c{};
  c.fb_id = ArgU32(info, 2, "fb id");
  IoctlOrThrow(env, ArgFd(info, 0), DRM_IOCTL_MODE_GETFB2, &c, "DRM_IOCTL_MODE_GETFB2", ArgPath(info, 1));
  Object o = Object::New(env);
  o.Set("fbId", c.fb_id);
  o.Set("width", c.width);
  o.Set("height", c.height);
  o.Set("pixelFormat", c.pixel_format);
  o.Set("flags", c.flags);
  Array h = Array::New(env, 4), p = Array::New(env, 4), off = Array::New(env, 4), m = Array::New(env, 4);
  for (uint32_t i = 0; i < 4; i++) {
    h.Set(i, c.handles[i]), p.Set(i, c.pitches[i]), off.Set(i, c.offsets[i]);
    m.Set(i, BigInt::New(env, static_cast<uint64_t>(c.modifier[i])));
  }
  o.Set("handles", h), o.Set("pitches", p), o.Set("offsets", off), o.Set("modifiers", m);
  return o;
}

static Value PrimeFdToHandle(const CallbackInfo& info) {
  drm_prime_handle p{};
  p.fd = static_cast<int32_t>(ArgU32(info, 2, "dma-buf fd"));
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_PRIME_FD_TO_HANDLE, &p, "DRM_IOCTL_PRIME_FD_TO_HANDLE", ArgPath(info, 1));
  return Number::New(info.Env(), p.handle);
}

static Value PrimeHandleToFd(const CallbackInfo& info) {
  drm_prime_handle p{};
  p.handle = ArgU32(info, 2, "handle");
  p.flags = ArgU32(info, 3, "flags");
  p.fd = -1;
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_PRIME_HANDLE_TO_FD, &p, "DRM_IOCTL_PRIME_HANDLE_TO_FD", ArgPath(info, 1));
  return Number::New(info.Env(), p.fd);
}

static Value GemClose(const CallbackInfo& info) {
  drm_gem_close g{};
  g.handle = ArgU32(info, 2, "handle");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_GEM_CLOSE, &g, "DRM_IOCTL_GEM_CLOSE", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value CreateDumb(const CallbackInfo& info) {
  Env env = info.Env();
  drm_mode_create_dumb d{};
  d.width = ArgU32(info, 2, "width");
  d.height = ArgU32(info, 3, "height");
  d.bpp = ArgU32(info, 4, "bpp");
  IoctlOrThrow(env, ArgFd(info, 0), DRM_IOCTL_MODE_CREATE_DUMB, &d, "DRM_IOCTL_MODE_CREATE_DUMB", ArgPath(info, 1));
  Object o = Object::New(env);
  o.Set("handle", d.handle);
  o.Set("pitch", d.pitch);
  o.Set("size", Number::New(env, static_cast<double>(d.size)));
  return o;
}

static Value MapDumb(const CallbackInfo& info) {
  drm_mode_map_dumb m{};
  m.handle = ArgU32(info, 2, "handle");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_MAP_DUMB, &m, "DRM_IOCTL_MODE_MAP_DUMB", ArgPath(info, 1));
  return BigInt::New(info.Env(), static_cast<uint64_t>(m.offset));
}

static Value DestroyDumb(const CallbackInfo& info) {
  drm_mode_destroy_dumb d{};
  d.handle = ArgU32(info, 2, "handle");
  IoctlOrThrow(info.Env(), ArgFd(info, 0), DRM_IOCTL_MODE_DESTROY_DUMB, &d, "DRM_IOCTL_MODE_DESTROY_DUMB", ArgPath(info, 1));
  return info.Env().Undefined();
}

static Value CreateLease(const CallbackInfo& info) {
  Env env = info.Env();
  Array objs = ArgArray(info, 2, "object ids");
  std::vector<uint32_t> ids(objs.Length());
  for (uint32_t i = 0; i < ids.size(); i++) {
    Value v = objs.Get(i);
    if (!v.IsNumber()) throw TypeError::New(env, "object ids must be numbers");
    ids[i] = v.As<Number>().Uint32Value();
  }
  drm_mode_create_lease l{};
  l.object_ids = Ptr(ids.data()), l.object_count = ids.size(), l.flags = ArgU32(info, 3, "flags");
  IoctlOrThrow(env, ArgFd(info, 0), DRM_IOCTL_MODE_CREATE_LEASE, &l, "DRM_IOCTL_MODE_CREATE_LEASE", ArgPath(info, 1));
  Object o = Object::New(env);
  o.Set("fd", l.fd);
  o.Set("lesseeId", l.lessee_id);
  return o;
}

void InitDrm(Env env, Object exports) {
  const std::map<const char*, Function::Callback> fns = {
      {"drmVersion", Version}, {"drmGetCap", GetCap}, {"drmSetClientCap", SetClientCap}, {"drmSetMaster", SetMaster},
      {"drmDropMaster", DropMaster}, {"drmGetResources", GetResources}, {"drmGetConnector", GetConnector},
      {"drmGetEncoder", GetEncoder}, {"drmGetCrtc", GetCrtc}, {"drmGetPlaneResources", GetPlaneResources},
      {"drmGetPlane", GetPlane}, {"drmObjGetProperties", ObjGetProperties}, {"drmGetProperty", GetProperty},
      {"drmGetPropBlob", GetPropBlob}, {"drmCreatePropBlob", CreatePropBlob}, {"drmDestroyPropBlob", DestroyPropBlob},
      {"drmAddFb2", AddFb2}, {"drmRmFb", RmFb}, {"drmGetFb2", GetFb2}, {"drmPrimeFdToHandle", PrimeFdToHandle},
      {"drmPrimeHandleToFd", PrimeHandleToFd}, {"drmGemClose", GemClose}, {"drmCreateDumb", CreateDumb},
      {"drmMapDumb", MapDumb}, {"drmDestroyDumb", DestroyDumb}, {"drmCreateLease", CreateLease},
  };
  for (auto& [name, fn] : fns) exports.Set(name, Function::New(env, fn, name));
}

}  // namespace df
