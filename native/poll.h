// One uv_poll per fd (libuv allows no second), for the addon's fd watchers: DRM events and the
// D-Bus peer sockets. JS owns it through stop(); the handle is freed once libuv has closed it.
#pragma once
#include <functional>
#include <memory>
#include <napi.h>
#include <string>
#include <uv.h>

namespace df {

class FdPoll {
 public:
  // `onEvent(env, status, events)` runs on the loop thread inside a HandleScope.
  using Handler = std::function<void(Napi::Env, int status, int events)>;

  // Starts polling `fd` for `events`; throws the SystemError when libuv refuses the fd.
  // An exception out of `onEvent` (a JS callback that threw, a failed read) never reaches the
  // process: it goes to `onError(err)` when given, else it is written once to stderr. A fd is
  // fed by whatever is on its other end (QEMU faces the guest), so it must not be able to end
  // the process; the poll keeps running and the JS side decides what to close.
  static FdPoll* Start(Napi::Env env, int fd, int events, Handler onEvent, std::shared_ptr<Napi::FunctionReference> onError, const std::string& path);

  // Changes what is polled for (e.g. adds UV_WRITABLE while a send queue drains).
  void SetEvents(int events);

  // Stops and frees; safe to call more than once.
  void Stop();

 private:
  FdPoll() = default;
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Report(Napi::Env env, Napi::Value err);
  uv_poll_t poll_{};
  napi_env env_ = nullptr;
  Handler onEvent_;
  std::shared_ptr<Napi::FunctionReference> onError_;
  std::string path_;
  bool stopped_ = false;
  bool reported_ = false;
};

// The optional error callback at argument `i`: null when absent or undefined; a TypeError when
// it is something else.
std::shared_ptr<Napi::FunctionReference> ArgOptionalCallback(const Napi::CallbackInfo& info, size_t i);

}  // namespace df
