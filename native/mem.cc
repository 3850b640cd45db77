// mmap of a device buffer into a Buffer the GC unmaps, and close().
#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"

using namespace Napi;

namespace df {

static Value Mmap(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  std::string path = ArgPath(info, 1);
  uint64_t offset = ArgU64(info, 2, "offset");
  uint32_t size = ArgU32(info, 3, "size");
  if (size == 0) throw TypeError::New(env, "argument 4: size must be positive");
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) ThrowSys(env, errno, "mmap", path);
  // The mapping holds the buffer (and its file) until the GC finalizes the Buffer: telling V8 how
  // much memory it pins makes it collect dropped mappings soon, not whenever the heap fills.
  MemoryManagement::AdjustExternalMemory(env, size);
  return Buffer<uint8_t>::New(env, static_cast<uint8_t*>(p), size, [size](Env e, uint8_t* data) {
    munmap(data, size);
    MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(size));
  });
}

static Value Close(const CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  // No EINTR retry for close(): on Linux the fd is released even when close reports EINTR.
  if (close(fd) == -1 && errno != EINTR) ThrowSys(info.Env(), errno, "close", ArgPath(info, 1));
  return info.Env().Undefined();
}

void InitMem(Env env, Object exports) {
  exports.Set("mmap", Function::New(env, Mmap, "mmap"));
  exports.Set("close", Function::New(env, Close, "close"));
}

}  // namespace df
