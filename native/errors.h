// One error convention for the whole addon: a JS Error shaped like Node's SystemError
// (code, errno, syscall, path), built right after the failing call.
#pragma once
#include <napi.h>
#include <string>

namespace df {

// Throws the SystemError for `err` (a positive errno) as a C++ exception node-addon-api rethrows.
[[noreturn]] void ThrowSys(Napi::Env env, int err, const char* syscall, const std::string& path);

// ioctl() with EINTR retried: the one place the addon retries anything.
int Ioctl(int fd, unsigned long request, void* arg);

// Ioctl, and on failure ThrowSys with the ioctl's name.
int IoctlOrThrow(Napi::Env env, int fd, unsigned long request, void* arg, const char* name, const std::string& path);

// Argument readers: a wrong type is a TypeError naming the argument, never a crash.
int ArgFd(const Napi::CallbackInfo& info, size_t i);
std::string ArgPath(const Napi::CallbackInfo& info, size_t i);
uint32_t ArgU32(const Napi::CallbackInfo& info, size_t i, const char* what);
uint64_t ArgU64(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Buffer<uint8_t> ArgBuffer(const Napi::CallbackInfo& info, size_t i, const char* what);
Napi::Array ArgArray(const Napi::CallbackInfo& info, size_t i, const char* what);

inline uint64_t Ptr(const void* p) { return static_cast<uint64_t>(reinterpret_cast<uintptr_t>(p)); }

}  // namespace df
