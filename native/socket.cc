// socketpair and SCM_RIGHTS fd passing for QEMU's peer-to-peer D-Bus listener link. Received fds
// are close-on-exec (MSG_CMSG_CLOEXEC): QEMU's are not, and no helper we spawn may inherit them.
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>
#include <memory>
#include <vector>

#include "errors.h"
#include "poll.h"

using namespace Napi;

namespace df {

static const size_t kMaxFds = 16;

static Value SocketPair(const CallbackInfo& info) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == -1) ThrowSys(info.Env(), errno, "socketpair", "");
  Array a = Array::New(info.Env(), 2);
  a.Set(0u, sv[0]);
  a.Set(1u, sv[1]);
  return a;
}

// Sends `data` with `fds` attached to its first byte; returns the bytes written (may be short).
static Value SendWithFds(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  Buffer<uint8_t> data = ArgBuffer(info, 1, "data");
  Array list = ArgArray(info, 2, "fds");
  if (list.Length() > kMaxFds) throw TypeError::New(env, "argument 3: at most 16 fds per message");
  std::vector<int> fds(list.Length());
  for (uint32_t i = 0; i < fds.size(); i++) {
    Value v = list.Get(i);
    if (!v.IsNumber()) throw TypeError::New(env, "argument 3: fds must be numbers");
    fds[i] = v.As<Number>().Int32Value();
  }
  if (data.Length() == 0) throw TypeError::New(env, "argument 2: data must not be empty (fds ride on a byte)");
  iovec iov{data.Data(), data.Length()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  if (!fds.empty()) {
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n == -1 && errno == EINTR);
  if (n == -1) {
    if (errno == EAGAIN) return Number::New(env, 0);
    ThrowSys(env, errno, "sendmsg", "");
  }
  return Number::New(env, static_cast<double>(n));
}

// Reads what is there without blocking: { data, fds } or null when nothing is pending; an empty
// data Buffer means the peer closed.
static Value RecvWithFds(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  uint32_t max = ArgU32(info, 1, "max bytes");
  if (max == 0) throw TypeError::New(env, "argument 2: max bytes must be positive");
  std::vector<uint8_t> buf(max);
  iovec iov{buf.data(), buf.size()};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kMaxFds));
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n == -1 && errno == EINTR);
  if (n == -1) {
    if (errno == EAGAIN) return env.Null();
    ThrowSys(env, errno, "recvmsg", "");
  }
  Array fds = Array::New(env);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const int* p = reinterpret_cast<const int*>(CMSG_DATA(c));
    for (size_t i = 0; i < count; i++) fds.Set(fds.Length(), p[i]);
  }
  Object o = Object::New(env);
  o.Set("data", Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(n)));
  o.Set("fds", fds);
  o.Set("truncated", Boolean::New(env, (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0));
  return o;
}

// One poller per fd: calls `cb(mask)` with 1 when the fd is readable or hung up and 2 when
// writable, for writability only while asked, and `onError(err)` (optional) with what `cb`
// threw. Returns {stop, wantWritable}.
static Value WatchFd(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  if (info.Length() < 2 || !info[1].IsFunction()) throw TypeError::New(env, "argument 2: callback must be a function");
  auto cb = std::make_shared<FunctionReference>(Persistent(info[1].As<Function>()));
  auto onError = ArgOptionalCallback(info, 2);
  const int base = UV_READABLE | UV_DISCONNECT;
  FdPoll* p = FdPoll::Start(env, fd, base, [cb](Env e, int status, int events) {
    // An error (e.g. the fd was hung up under us) is reported as readable: the read then tells.
    int mask = status < 0 ? 1 : ((events & (UV_READABLE | UV_DISCONNECT)) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
    cb->MakeCallback(e.Global(), {Number::New(e, mask)});
  }, onError, "");
  Object o = Object::New(env);
  o.Set("stop", Function::New(env, [p](const CallbackInfo& i) -> Value {
    p->Stop();
    return i.Env().Undefined();
  }, "stop"));
  o.Set("wantWritable", Function::New(env, [p, base](const CallbackInfo& i) -> Value {
    p->SetEvents(base | (i.Length() > 0 && i[0].ToBoolean() ? UV_WRITABLE : 0));
    return i.Env().Undefined();
  }, "wantWritable"));
  return o;
}

// A blocking connect to a unix socket path (a D-Bus bus address), then non-blocking I/O.
static Value ConnectUnix(const CallbackInfo& info) {
  Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw TypeError::New(env, "argument 1: path must be a string");
  std::string path = info[0].As<String>().Utf8Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw TypeError::New(env, "argument 1: path too long for a unix socket");
  memcpy(addr.sun_path, path.c_str(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd == -1) ThrowSys(env, errno, "socket", path);
  int r;
  do {
    r = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r == -1 && errno == EINTR);
  if (r == -1) {
    int err = errno;
    close(fd);
    ThrowSys(env, err, "connect", path);
  }
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  return Number::New(env, fd);
}

void InitSocket(Env env, Object exports) {
  exports.Set("connectUnix", Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("watchFd", Function::New(env, WatchFd, "watchFd"));
  exports.Set("socketPair", Function::New(env, SocketPair, "socketPair"));
  exports.Set("sendWithFds", Function::New(env, SendWithFds, "sendWithFds"));
  exports.Set("recvWithFds", Function::New(env, RecvWithFds, "recvWithFds"));
}

}  // namespace df
