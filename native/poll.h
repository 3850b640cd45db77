// One uv_poll per fd (libuv allows no second), for the addon's fd watchers: DRM events and the
// D-Bus peer sockets. JS owns it through stop(); the handle is freed once libuv has closed it.
#pragma once
#include <functional>
#include <napi.h>
#include <string>
#include <uv.h>

namespace df {

class FdPoll {
 public:
  // `onEvent(env, status, events)` runs on the loop thread inside a HandleScope; an exception it
  // throws is the process's, as in any other callback.
  using Handler = std::function<void(Napi::Env, int status, int events)>;

  // Starts polling `fd` for `events`; throws the SystemError when libuv refuses the fd.
  static FdPoll* Start(Napi::Env env, int fd, int events, Handler onEvent, const std::string& path);

  // Changes what is polled for (e.g. adds UV_WRITABLE while a send queue drains).
  void SetEvents(int events);

  // Stops and frees; safe to call more than once.
  void Stop();

 private:
  FdPoll() = default;
  static void OnPoll(uv_poll_t* handle, int status, int events);
  uv_poll_t poll_{};
  napi_env env_ = nullptr;
  Handler onEvent_;
  bool stopped_ = false;
};

}  // namespace df
