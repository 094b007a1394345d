#include "daemon/http/peer_client.h"

#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace featmon {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// One connection with its own io_context: the asynchronous operations run
// to completion or to the stream's deadline on the calling thread, which is
// how a deadline holds for a blocking call (tcp_stream's timeouts apply to
// asynchronous operations only).
struct PeerClient::Connection {
  boost::asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
  bool connected = false;
};

namespace {

// Runs the operation started on `io` to its completion (or its deadline).
void Complete(boost::asio::io_context& io) {
  io.restart();
  io.run();
}

}  // namespace

PeerClient::PeerClient(PeerClientOptions options) : options_(options) {}
PeerClient::~PeerClient() = default;

std::unique_ptr<PeerClient::Connection> PeerClient::Take(const std::string& peer) {
  std::lock_guard lock(mu_);
  auto it = idle_.find(peer);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  std::unique_ptr<Connection> c = std::move(it->second.back());
  it->second.pop_back();
  return c;
}

void PeerClient::Give(const std::string& peer, std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu_);
  auto& pool = idle_[peer];
  if (pool.size() < options_.max_idle_per_peer) pool.push_back(std::move(c));
}

Result<HttpAnswer> PeerClient::Send(const std::string& base_url, const PeerRequest& request) {
  auto url = ParseHttpUrl(base_url);
  if (!url.ok()) return url.status();
  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, url->host + ":" + url->port);
  req.set(http::field::user_agent, "featmond");
  req.keep_alive(true);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = request.body;
  req.prepare_payload();

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  std::string failure;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::unique_ptr<Connection> c = Take(base_url);
    const bool reused = c != nullptr;
    if (!c) c = std::make_unique<Connection>();
    beast::error_code ec;
    c->stream.expires_at(deadline);
    if (!c->connected) {
      tcp::resolver resolver(c->io);
      auto endpoints = resolver.resolve(url->host, url->port, ec);
      if (ec) return Status::Unavailable("cannot resolve " + base_url + ": " + ec.message());
      c->stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      Complete(c->io);
      if (ec) return Status::Unavailable("cannot connect to " + base_url + ": " + ec.message());
      c->connected = true;
      opened_.fetch_add(1);
    }
    size_t answered_bytes = 0;
    http::async_write(c->stream, req, [&](beast::error_code e, size_t) { ec = e; });
    Complete(c->io);
    http::response<http::string_body> res;
    if (!ec) {
      http::async_read(c->stream, c->buffer, res, [&](beast::error_code e, size_t n) {
        ec = e;
        answered_bytes = n;
      });
      Complete(c->io);
    }
    if (!ec) {
      HttpAnswer answer{static_cast<int>(res.result_int()), std::move(res.body())};
      if (res.keep_alive()) Give(base_url, std::move(c));
      return answer;
    }
    failure = ec == beast::error::timeout ? "no answer within " + std::to_string(options_.timeout_ms) + " ms"
                                          : ec.message();
    // A pooled connection the peer has closed fails before any answer: once more on a new one.
    if (!reused || answered_bytes > 0 || std::chrono::steady_clock::now() >= deadline) break;
  }
  return Status::Unavailable(base_url + ": " + failure);
}

}  // namespace featmon
