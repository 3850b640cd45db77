// The atomic commit (on the JS thread or the thread pool) and the DRM event stream.
#include <cerrno>
#include <drm.h>
#include <drm_mode.h>
#include <unistd.h>
#include <uv.h>
#include <memory>
#include <vector>

#include "errors.h"
#include "poll.h"

using namespace Napi;

namespace df {

// The ioctl wants properties grouped by object; JS passes flat (object, prop, value) triples.
struct AtomicReq {
  int fd = -1;
  std::string path;
  uint32_t flags = 0;
  uint64_t userData = 0;
  std::vector<uint32_t> objs, counts, props;
  std::vector<uint64_t> values;

  int Commit() {
    drm_mode_atomic a{};
    a.flags = flags;
    a.count_objs = objs.size();
    a.objs_ptr = Ptr(objs.data());
    a.count_props_ptr = Ptr(counts.data());
    a.props_ptr = Ptr(props.data());
    a.prop_values_ptr = Ptr(values.data());
    a.user_data = userData;
    return Ioctl(fd, DRM_IOCTL_MODE_ATOMIC, &a) == -1 ? errno : 0;
  }
};

static AtomicReq ReadAtomic(const CallbackInfo& info) {
  Env env = info.Env();
  AtomicReq r;
  r.fd = ArgFd(info, 0);
  r.path = ArgPath(info, 1);
  Array objs = ArgArray(info, 2, "object ids"), props = ArgArray(info, 3, "property ids"), vals = ArgArray(info, 4, "values");
  r.flags = ArgU32(info, 5, "flags");
  r.userData = info.Length() > 6 && !info[6].IsUndefined() ? ArgU64(info, 6, "user data") : 0;
  if (objs.Length() != props.Length() || objs.Length() != vals.Length()) throw TypeError::New(env, "object ids, property ids and values must have the same length");
  std::vector<std::vector<std::pair<uint32_t, uint64_t>>> byObj;
  for (uint32_t i = 0; i < objs.Length(); i++) {
    Value o = objs.Get(i), p = props.Get(i), v = vals.Get(i);
    if (!o.IsNumber() || !p.IsNumber() || !v.IsBigInt()) throw TypeError::New(env, "atomic triples must be (number, number, bigint)");
    uint32_t obj = o.As<Number>().Uint32Value();
    bool lossless;
    uint64_t val = v.As<BigInt>().Uint64Value(&lossless);
    size_t k = 0;
    while (k < r.objs.size() && r.objs[k] != obj) k++;
    if (k == r.objs.size()) r.objs.push_back(obj), byObj.emplace_back();
    byObj[k].emplace_back(p.As<Number>().Uint32Value(), val);
  }
  for (auto& list : byObj) {
    r.counts.push_back(list.size());
    for (auto& [prop, val] : list) r.props.push_back(prop), r.values.push_back(val);
  }
  return r;
}

static Value Atomic(const CallbackInfo& info) {
  AtomicReq r = ReadAtomic(info);
  if (int err = r.Commit()) ThrowSys(info.Env(), err, "DRM_IOCTL_MODE_ATOMIC", r.path);
  return info.Env().Undefined();
}

// drmAtomicOutFence(fd, path, objects, props, values, flags, userData, fenceObject, fenceProp):
// a commit that also sets `fenceProp` of `fenceObject` (OUT_FENCE_PTR of a CRTC, or a writeback
// connector's WRITEBACK_OUT_FENCE_PTR) to a pointer the kernel writes a sync_file fd to, returned
// (-1 when the kernel made none). The fd signals (POLLIN) when the CRTC's flip or the writeback
// job is done; until then the job's buffers are the kernel's. The caller owns and closes it.
static Value AtomicOutFence(const CallbackInfo& info) {
  AtomicReq r = ReadAtomic(info);
  uint32_t obj = ArgU32(info, 7, "fence object id"), prop = ArgU32(info, 8, "fence property id");
  int32_t fence = -1;
  size_t k = 0, at = 0;
  while (k < r.objs.size() && r.objs[k] != obj) at += r.counts[k++];
  if (k == r.objs.size()) r.objs.push_back(obj), r.counts.push_back(0);
  at += r.counts[k]++;
  r.props.insert(r.props.begin() + at, prop);
  r.values.insert(r.values.begin() + at, Ptr(&fence));
  if (int err = r.Commit()) ThrowSys(info.Env(), err, "DRM_IOCTL_MODE_ATOMIC", r.path);
  return Number::New(info.Env(), fence);
}

// A blocking commit waits for vblank: run it on the thread pool and settle a promise.
class AtomicWorker : public AsyncWorker {
 public:
  AtomicWorker(Napi::Env env, AtomicReq req) : AsyncWorker(env), req_(std::move(req)), deferred_(Promise::Deferred::New(env)) {}
  Promise GetPromise() { return deferred_.Promise(); }
  void Execute() override { err_ = req_.Commit(); }
  void OnOK() override {
    if (!err_) return deferred_.Resolve(Env().Undefined());
    try {
      ThrowSys(Env(), err_, "DRM_IOCTL_MODE_ATOMIC", req_.path);
    } catch (const Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  AtomicReq req_;
  Promise::Deferred deferred_;
  int err_ = 0;
};

static Value AtomicAsync(const CallbackInfo& info) {
  auto* w = new AtomicWorker(info.Env(), ReadAtomic(info));
  Promise p = w->GetPromise();
  w->Queue();
  return p;
}

// Reads what is pending without blocking (the fd is O_NONBLOCK): EAGAIN is "no events".
static bool ReadEventsInto(Env env, int fd, const std::string& path, Array out) {
  char buf[4096];
  ssize_t n;
  do {
    n = read(fd, buf, sizeof buf);
  } while (n == -1 && errno == EINTR);
  if (n == -1) {
    if (errno == EAGAIN) return false;
    ThrowSys(env, errno, "read", path);
  }
  if (n == 0) return false;  // EOF: not a DRM fd, or nothing more will come
  for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(drm_event)) <= n;) {
    auto* e = reinterpret_cast<drm_event*>(buf + at);
    if (e->length < sizeof(drm_event) || at + static_cast<ssize_t>(e->length) > n) break;
    Object o = Object::New(env);
    o.Set("type", e->type);
    if ((e->type == DRM_EVENT_FLIP_COMPLETE || e->type == DRM_EVENT_VBLANK) && e->length >= sizeof(drm_event_vblank)) {
      auto* v = reinterpret_cast<drm_event_vblank*>(e);
      o.Set("userData", BigInt::New(env, static_cast<uint64_t>(v->user_data)));
      o.Set("tvSec", v->tv_sec), o.Set("tvUsec", v->tv_usec), o.Set("sequence", v->sequence), o.Set("crtcId", v->crtc_id);
    } else {
      o.Set("userData", BigInt::New(env, static_cast<uint64_t>(0)));
      o.Set("tvSec", 0), o.Set("tvUsec", 0), o.Set("sequence", 0), o.Set("crtcId", 0);
    }
    out.Set(out.Length(), o);
    at += e->length;
  }
  return true;
}

static Value ReadEvents(const CallbackInfo& info) {
  Array out = Array::New(info.Env());
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  while (ReadEventsInto(info.Env(), fd, path, out)) {
  }
  return out;
}

// Calls `cb(events)` with every batch of DRM events the fd delivers, and `onError(err)` (optional)
// with what `cb` or the read threw; returns the stop function.
static Value WatchEvents(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  if (info.Length() < 3 || !info[2].IsFunction()) throw TypeError::New(env, "argument 3: callback must be a function");
  auto cb = std::make_shared<FunctionReference>(Persistent(info[2].As<Function>()));
  auto onError = ArgOptionalCallback(info, 3);
  FdPoll* p = FdPoll::Start(env, fd, UV_READABLE, [cb, fd, path](Env e, int status, int) {
    Array events = Array::New(e);
    if (status < 0) ThrowSys(e, -status, "poll", path);
    while (ReadEventsInto(e, fd, path, events)) {
    }
    if (events.Length()) cb->MakeCallback(e.Global(), {events});
  }, onError, path);
  return Function::New(env, [p](const CallbackInfo& i) -> Value {
    p->Stop();
    return i.Env().Undefined();
  }, "stopWatching");
}

void InitDrmEvents(Env env, Object exports) {
  exports.Set("drmAtomic", Function::New(env, Atomic, "drmAtomic"));
  exports.Set("drmAtomicAsync", Function::New(env, AtomicAsync, "drmAtomicAsync"));
  exports.Set("drmAtomicOutFence", Function::New(env, AtomicOutFence, "drmAtomicOutFence"));
  exports.Set("drmReadEvents", Function::New(env, ReadEvents, "drmReadEvents"));
  exports.Set("drmWatchEvents", Function::New(env, WatchEvents, "drmWatchEvents"));
}

}  // namespace df
