#include "poll.h"

#include <cstdio>
#include <exception>

#include "errors.h"

namespace df {

FdPoll* FdPoll::Start(Napi::Env env, int fd, int events, Handler onEvent, std::shared_ptr<Napi::FunctionReference> onError, const std::string& path) {
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  auto* p = new FdPoll();
  p->env_ = env;
  p->onEvent_ = std::move(onEvent);
  p->onError_ = std::move(onError);
  p->path_ = path;
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
  if (p->stopped_) return;
  Napi::Env env(p->env_);
  Napi::HandleScope scope(env);
  // Never napi_fatal_exception: one bad fd would take every other one down with the process.
  try {
    p->onEvent_(env, status, events);
  } catch (const Napi::Error& e) {
    p->Report(env, e.Value());
  } catch (const std::exception& e) {
    try {
      p->Report(env, Napi::Error::New(env, e.what()).Value());
    } catch (...) {
    }
  }
}

void FdPoll::Report(Napi::Env env, Napi::Value err) {
  if (onError_ && !stopped_) {
    try {
      onError_->MakeCallback(env.Global(), {err});
      return;
    } catch (const Napi::Error&) {
      // the error handler threw too: fall through to the last resort
    }
  }
  if (reported_) return;
  reported_ = true;
  std::string text = "(unprintable)";
  try {
    text = err.ToString().Utf8Value();
  } catch (const Napi::Error&) {
  }
  fprintf(stderr, "directflip native: a callback for fd watcher %s threw and nobody took the error: %s\n", path_.empty() ? "(socket)" : path_.c_str(), text.c_str());
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

std::shared_ptr<Napi::FunctionReference> ArgOptionalCallback(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined() || info[i].IsNull()) return nullptr;
  if (!info[i].IsFunction()) throw Napi::TypeError::New(info.Env(), "argument " + std::to_string(i + 1) + ": error callback must be a function");
  return std::make_shared<Napi::FunctionReference>(Napi::Persistent(info[i].As<Napi::Function>()));
}

}  // namespace df
