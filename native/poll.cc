#include "poll.h"

#include "errors.h"

namespace df {

FdPoll* FdPoll::Start(Napi::Env env, int fd, int events, Handler onEvent, const std::string& path) {
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  auto* p = new FdPoll();
  p->env_ = env;
  p->onEvent_ = std::move(onEvent);
  p->poll_.data = p;
  if (int r = uv_poll_init(loop, &p->poll_, fd)) {
    delete p;
    ThrowSys(env, -r, "poll", path);
  }
  uv_poll_start(&p->poll_, events, OnPoll);
  return p;
}

void FdPoll::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* p = static_cast<FdPoll*>(handle->data);
  Napi::Env env(p->env_);
  Napi::HandleScope scope(env);
  try {
    p->onEvent_(env, status, events);
  } catch (const Napi::Error& e) {
    napi_fatal_exception(p->env_, e.Value());
  }
}

void FdPoll::SetEvents(int events) {
  if (!stopped_) uv_poll_start(&poll_, events, OnPoll);
}

void FdPoll::Stop() {
  if (stopped_) return;
  stopped_ = true;
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) { delete static_cast<FdPoll*>(h->data); });
}

}  // namespace df
