// mmap of a device buffer into a Buffer, explicit munmap, and close().
#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

#include <unordered_map>

#include "errors.h"

using namespace Napi;

namespace df {

// Live mappings by address. JS may still hold a Buffer after munmap, so munmap never leaves a
// hole: it swaps the device pages for anonymous ones in place (MAP_FIXED), which drops the
// mapping's reference on the device file at once; the finalizer unmaps whatever is there.
// Touched from the JS thread only (mmap, munmap and finalizers all run there).
struct Mapping {
  size_t size;
  bool device;
};
static std::unordered_map<void*, Mapping>& Mappings() {
  static std::unordered_map<void*, Mapping> m;
  return m;
}

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
  Mappings()[p] = Mapping{size, true};
  return Buffer<uint8_t>::New(env, static_cast<uint8_t*>(p), size, [size](Env e, uint8_t* data) {
    munmap(data, size);
    Mappings().erase(data);
    MemoryManagement::AdjustExternalMemory(e, -static_cast<int64_t>(size));
  });
}

static Value Munmap(const CallbackInfo& info) {
  Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw TypeError::New(env, "argument 1: a Buffer returned by mmap");
  auto buf = info[0].As<Buffer<uint8_t>>();
  auto it = Mappings().find(buf.Data());
  if (it == Mappings().end() || !it->second.device || it->second.size != buf.Length()) return Boolean::New(env, false);
  void* p = mmap(buf.Data(), it->second.size, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) ThrowSys(env, errno, "mmap", "[anonymous]");
  it->second.device = false;
  return Boolean::New(env, true);
}

static Value Close(const CallbackInfo& info) {
  int fd = ArgFd(info, 0);
  // No EINTR retry for close(): on Linux the fd is released even when close reports EINTR.
  if (close(fd) == -1 && errno != EINTR) ThrowSys(info.Env(), errno, "close", ArgPath(info, 1));
  return info.Env().Undefined();
}

void InitMem(Env env, Object exports) {
  exports.Set("mmap", Function::New(env, Mmap, "mmap"));
  exports.Set("munmap", Function::New(env, Munmap, "munmap"));
  exports.Set("close", Function::New(env, Close, "close"));
}

}  // namespace df
