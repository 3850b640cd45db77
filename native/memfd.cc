// Sealed shared memory and udmabuf: QEMU's Listener.Unix.Map hands the console's pixels over as a
// memfd; udmabuf turns a sealed memfd range into a dma-buf that KMS can scan out with no copy.
// memfd_create lives here too, since sealing needs MFD_ALLOW_SEALING at creation.
#include <cerrno>
#include <fcntl.h>
#include <linux/udmabuf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"

using namespace Napi;

namespace df {

// memfdCreate(name, flags = MFD_CLOEXEC): flags are memfd_create's (MFD_ALLOW_SEALING = 2).
static Value MemfdCreate(const CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString()) throw TypeError::New(info.Env(), "argument 1: name must be a string");
  std::string name = info[0].As<String>().Utf8Value();
  unsigned flags = info.Length() > 1 && !info[1].IsUndefined() ? ArgU32(info, 1, "flags") : MFD_CLOEXEC;
  int fd = memfd_create(name.c_str(), flags | MFD_CLOEXEC);
  if (fd == -1) ThrowSys(info.Env(), errno, "memfd_create", "");
  return Number::New(info.Env(), fd);
}

// memfdGetSeals(fd): F_GET_SEALS (EINVAL for a file that is not a memfd).
static Value MemfdGetSeals(const CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals == -1) ThrowSys(info.Env(), errno, "fcntl", "F_GET_SEALS");
  return Number::New(info.Env(), seals);
}

// memfdAddSeals(fd, seals): F_ADD_SEALS (EPERM once F_SEAL_SEAL is set).
static Value MemfdAddSeals(const CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  unsigned seals = ArgU32(info, 1, "seals");
  if (fcntl(fd, F_ADD_SEALS, seals) == -1) ThrowSys(info.Env(), errno, "fcntl", "F_ADD_SEALS");
  return info.Env().Undefined();
}

// udmabufCreate(devFd, path, memfd, offset, size): UDMABUF_CREATE, close-on-exec; the dma-buf's fd.
static Value UdmabufCreate(const CallbackInfo& info) {
  int dev = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  udmabuf_create c{};
  c.memfd = static_cast<__u32>(ArgFd(info, 2));
  c.flags = UDMABUF_FLAGS_CLOEXEC;
  c.offset = ArgU32(info, 3, "offset");
  c.size = ArgU32(info, 4, "size");
  int fd = IoctlOrThrow(info.Env(), dev, UDMABUF_CREATE, &c, "UDMABUF_CREATE", path);
  return Number::New(info.Env(), fd);
}

void InitMemfd(Env env, Object exports) {
  exports.Set("memfdCreate", Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("memfdGetSeals", Function::New(env, MemfdGetSeals, "memfdGetSeals"));
  exports.Set("memfdAddSeals", Function::New(env, MemfdAddSeals, "memfdAddSeals"));
  exports.Set("udmabufCreate", Function::New(env, UdmabufCreate, "udmabufCreate"));
}

}  // namespace df
