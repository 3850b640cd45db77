// The kernel's uevent netlink socket (NETLINK_KOBJECT_UEVENT, group 1): DRM hotplug and
// link-status changes arrive here as HOTPLUG=1. Only datagrams the kernel itself sent (sender
// port 0) are passed on, as udev does: anything else on the socket is dropped and counted.
#include <cerrno>
#include <cstring>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errors.h"

using namespace Napi;

namespace df {

static const char* kPath = "netlink:kobject-uevent";
// A uevent is at most UEVENT_BUFFER_SIZE (2048) bytes of environment plus its header.
static const size_t kMaxDatagram = 8192;

static Value UeventOpen(const CallbackInfo& info) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
  if (fd == -1) ThrowSys(info.Env(), errno, "socket", kPath);
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  addr.nl_groups = 1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == -1) {
    int err = errno;
    close(fd);
    ThrowSys(info.Env(), err, "bind", kPath);
  }
  return Number::New(info.Env(), fd);
}

// Every pending datagram from the kernel, without blocking: { messages, foreign, overrun }.
static Value UeventRead(const CallbackInfo& info) {
  Env env = info.Env();
  int fd = ArgFd(info, 0);
  Array messages = Array::New(env);
  uint32_t n = 0, foreign = 0;
  bool overrun = false;
  char buf[kMaxDatagram];
  for (;;) {
    sockaddr_nl from{};
    iovec iov{buf, sizeof buf};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t r = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (r == -1) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      // ENOBUFS: the kernel dropped uevents because we were slow; the caller re-reads state.
      if (errno == ENOBUFS) {
        overrun = true;
        continue;
      }
      ThrowSys(env, errno, "recvmsg", kPath);
    }
    if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC)) {
      foreign++;
      continue;
    }
    messages.Set(n++, Buffer<char>::Copy(env, buf, static_cast<size_t>(r)));
  }
  Object o = Object::New(env);
  o.Set("messages", messages);
  o.Set("foreign", foreign);
  o.Set("overrun", overrun);
  return o;
}

void InitUevent(Env env, Object exports) {
  exports.Set("ueventOpen", Function::New(env, UeventOpen, "ueventOpen"));
  exports.Set("ueventRead", Function::New(env, UeventRead, "ueventRead"));
}

}  // namespace df
