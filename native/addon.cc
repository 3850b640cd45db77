// directflip's native surface: raw DRM/KMS and VFIO ioctls, nothing else. No policy, no paths
// beyond error context; the TypeScript layer (src/kernel/native.ts) gives it its shape.
#include <napi.h>

namespace df {
void InitDrm(Napi::Env env, Napi::Object exports);
void InitDrmEvents(Napi::Env env, Napi::Object exports);
void InitVfio(Napi::Env env, Napi::Object exports);
void InitMem(Napi::Env env, Napi::Object exports);
void InitSocket(Napi::Env env, Napi::Object exports);
void InitUevent(Napi::Env env, Napi::Object exports);
void InitMemfd(Napi::Env env, Napi::Object exports);
}  // namespace df

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  df::InitDrm(env, exports);
  df::InitDrmEvents(env, exports);
  df::InitVfio(env, exports);
  df::InitMem(env, exports);
  df::InitSocket(env, exports);
  df::InitUevent(env, exports);
  df::InitMemfd(env, exports);
  return exports;
}

NODE_API_MODULE(directflip_native, Init)
