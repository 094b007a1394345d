#include "daemon/http/webhook_notifier.h"

#include "daemon/logging/log.h"

namespace featmon {

Result<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Start(WebhookOptions options) {
  std::unique_ptr<WebhookNotifier> n(new WebhookNotifier());
  for (const auto& u : options.urls) {
    auto parsed = ParseHttpUrl(u);
    if (!parsed.ok()) return parsed.status();
    n->urls_.push_back(*parsed);
  }
  n->options_ = std::move(options);
  n->thread_ = std::thread([p = n.get()] { p->Run(); });
  return n;
}

WebhookNotifier::~WebhookNotifier() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!queue_.empty()) Log(Component::kWebhook).warn("{} retrain notifications not delivered at shutdown", queue_.size());
}

void WebhookNotifier::Enqueue(std::string json) {
  if (urls_.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.max_queue) {
      queue_.pop_front();
      ++given_up_;
      if (options_.on_give_up) options_.on_give_up();
      Log(Component::kWebhook).error("queue full, oldest notification dropped");
    }
    queue_.push_back(std::move(json));
  }
  cv_.notify_all();
}

uint64_t WebhookNotifier::delivered() const {
  std::lock_guard lock(mu_);
  return delivered_;
}
uint64_t WebhookNotifier::given_up() const {
  std::lock_guard lock(mu_);
  return given_up_;
}

bool WebhookNotifier::WaitIdle(int64_t timeout_ms) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return queue_.empty() && !busy_; });
}

Status WebhookNotifier::PostOnce(const HttpUrl& url, const std::string& body) {
  HttpCall call;
  call.method = "POST";
  call.body = body;
  call.content_type = "application/json";
  call.timeout_ms = options_.timeout_ms;
  Result<HttpAnswer> answer = HttpExchange(url, call);
  if (!answer.ok()) return answer.status();
  if (answer->status / 100 != 2) return Status::Unavailable("HTTP " + std::to_string(answer->status));
  return Status::Ok();
}

void WebhookNotifier::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    std::string body = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    uint64_t ok = 0, failed = 0;
    for (const HttpUrl& url : urls_) {
      int64_t backoff = options_.first_backoff_ms;
      bool done = false;
      for (int attempt = 1; attempt <= options_.attempts && !done; ++attempt) {
        Status st = PostOnce(url, body);
        if (st.ok()) {
          done = true;
          break;
        }
        Log(Component::kWebhook).warn("webhook http://{}:{}{} attempt {}/{}: {}", url.host, url.port, url.target, attempt,
                     options_.attempts, st.message());
        if (attempt == options_.attempts) break;
        std::unique_lock wait(mu_);
        if (cv_.wait_for(wait, std::chrono::milliseconds(backoff), [&] { return stop_; })) break;
        backoff *= 2;
      }
      if (done) {
        ++ok;
      } else {
        ++failed;
        if (options_.on_give_up) options_.on_give_up();
      }
    }
    lock.lock();
    delivered_ += ok;
    given_up_ += failed;
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace featmon
