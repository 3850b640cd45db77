#include "errors.h"

#include <cerrno>
#include <cstring>
#include <sys/ioctl.h>

namespace df {

void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* name = strerrorname_np(err);
  std::string code = name ? name : ("E" + std::to_string(err));
  std::string msg = code + ": " + syscall + " failed" + (path.empty() ? "" : " " + path) + " (" + strerror(err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, code));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  throw e;
}

int Ioctl(int fd, unsigned long request, void* arg) {
  int r;
  do {
    r = ioctl(fd, request, arg);
  } while (r == -1 && errno == EINTR);
  return r;
}

int IoctlOrThrow(Napi::Env env, int fd, unsigned long request, void* arg, const char* name, const std::string& path) {
  int r = Ioctl(fd, request, arg);
  if (r == -1) ThrowSys(env, errno, name, path);
  return r;
}

static std::string Nth(size_t i) { return "argument " + std::to_string(i + 1); }

int ArgFd(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": fd must be a number");
  int64_t v = info[i].As<Napi::Number>().Int64Value();
  if (v < 0 || v > INT32_MAX) throw Napi::TypeError::New(info.Env(), Nth(i) + ": fd must be a non-negative integer");
  return static_cast<int>(v);
}

std::string ArgPath(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return "";
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": path must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must be a number");
  double d = info[i].As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must be an unsigned 32-bit integer");
  }
  return static_cast<uint32_t>(d);
}

uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBigInt()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must be a bigint");
  bool lossless = false;
  uint64_t v = info[i].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must fit in 64 unsigned bits");
  return v;
}

Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must be a Buffer");
  return info[i].As<Napi::Buffer<uint8_t>>();
}

Napi::Array ArgArray(const Napi::CallbackInfo& info, size_t i, const char* what) {
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(info.Env(), Nth(i) + ": " + what + " must be an array");
  return info[i].As<Napi::Array>();
}

}  // namespace df
