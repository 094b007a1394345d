// HTTP/1.1 requests to other featmond instances (lookups proxied to the
// owner of a key's task) over pooled keep-alive connections, each request
// bounded by a deadline that holds for connecting, writing and reading.
//
// A connection is taken from the peer's pool, or opened; it goes back after
// an answer that keeps it alive. A pooled connection the peer closed while it
// sat idle fails before any answer arrives: such a request is sent once more
// on a new connection (lookups are idempotent).
//
//   PeerClient peers({.timeout_ms = 1000});
//   auto answer = peers.Send("http://10.0.0.7:8080", {"GET", "/v1/features/user/u1"});
//
// Thread-safety: Send may run on many threads at once; each request has its
// connection to itself.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "daemon/http/http_client.h"

namespace featmon {

struct PeerClientOptions {
  int64_t timeout_ms = 1'000;    // a whole request: connect, send, answer. Default: 1s
  size_t max_idle_per_peer = 16; // idle connections kept per peer; more are closed. Default: 16
};

struct PeerRequest {
  std::string method = "GET";
  std::string target;  // path and query
  std::string body;    // sent as application/json when not empty
  std::vector<std::pair<std::string, std::string>> headers;
};

class PeerClient {
 public:
  explicit PeerClient(PeerClientOptions options = {});
  ~PeerClient();
  PeerClient(const PeerClient&) = delete;
  PeerClient& operator=(const PeerClient&) = delete;

  // Any answer, whatever its status; Unavailable (saying what failed) when
  // none came within the deadline. `base_url`: http://host:port.
  Result<HttpAnswer> Send(const std::string& base_url, const PeerRequest& request);

  uint64_t connections_opened() const { return opened_.load(); }

 private:
  struct Connection;
  std::unique_ptr<Connection> Take(const std::string& peer);
  void Give(const std::string& peer, std::unique_ptr<Connection> c);

  PeerClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;  // by base URL
  std::atomic<uint64_t> opened_{0};
};

}  // namespace featmon
