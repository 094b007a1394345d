// POSTs JSON documents (retrain requests) to webhook URLs from its own thread,
// so a slow or dead receiver never blocks ingestion. Each delivery is tried
// up to `attempts` times with exponential backoff; a 2xx answer is success.
// The queue is bounded: when it is full the oldest document is dropped and
// counted as a failure.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "daemon/http/http_client.h"

namespace featmon {

struct WebhookOptions {
  std::vector<std::string> urls;      // http:// (ParseHttpUrl); each document goes to every URL. Default: none
  int attempts = 6;                   // tries per URL. Default: 6
  int64_t timeout_ms = 5'000;         // connect + request + response, per attempt. Default: 5s
  int64_t first_backoff_ms = 500;     // doubled after each failed attempt. Default: 0.5s
  size_t max_queue = 1'000;           // documents waiting; beyond, the oldest is dropped. Default: 1,000
  std::function<void()> on_give_up;   // called for each document and URL given up. Default: none
};

class WebhookNotifier {
 public:
  static Result<std::unique_ptr<WebhookNotifier>> Start(WebhookOptions options);
  ~WebhookNotifier();  // stops after the attempt in flight; undelivered documents are logged

  void Enqueue(std::string json);
  uint64_t delivered() const;
  uint64_t given_up() const;
  // Waits until the queue is empty and nothing is in flight, or the timeout passes.
  bool WaitIdle(int64_t timeout_ms);

 private:
  WebhookNotifier() = default;
  void Run();
  Status PostOnce(const HttpUrl& url, const std::string& body);

  WebhookOptions options_;
  std::vector<HttpUrl> urls_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool busy_ = false, stop_ = false;
  uint64_t delivered_ = 0, given_up_ = 0;
  std::thread thread_;
};

}  // namespace featmon
