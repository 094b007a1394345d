#include "daemon/http/webhook_notifier.h"

#include <utility>  // before Boost 1.74's asio under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include "daemon/logging/log.h"

namespace featmon {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<WebhookUrl> ParseWebhookUrl(const std::string& url) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) return Status::InvalidArgument("'" + url + "' is not an http:// URL");
  std::string rest = url.substr(scheme.size());
  WebhookUrl out;
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  out.host = authority;
  out.port = "80";
  const size_t bracket = authority.find(']'), colon = authority.rfind(':');
  if (colon != std::string::npos && (bracket == std::string::npos || colon > bracket)) {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  }
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  if (out.host.empty() || out.port.empty()) return Status::InvalidArgument("'" + url + "' has no host");
  return out;
}

Result<std::unique_ptr<WebhookNotifier>> WebhookNotifier::Start(WebhookOptions options) {
  std::unique_ptr<WebhookNotifier> n(new WebhookNotifier());
  for (const auto& u : options.urls) {
    auto parsed = ParseWebhookUrl(u);
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

Status WebhookNotifier::PostOnce(const WebhookUrl& url, const std::string& body) {
  try {
    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(options_.timeout_ms));
    stream.connect(resolver.resolve(url.host, url.port));
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "featmond");
    req.body() = body;
    req.prepare_payload();
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    if (res.result_int() / 100 != 2) return Status::Unavailable("HTTP " + std::to_string(res.result_int()));
    return Status::Ok();
  } catch (const std::exception& e) {  // Beast reports failures as exceptions; they stop here
    return Status::Unavailable(e.what());
  }
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
    for (const WebhookUrl& url : urls_) {
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
