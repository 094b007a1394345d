// HttpExchange's timeout bounds the whole exchange: a receiver that accepts
// the connection and never answers is given up on after timeout_ms, and the
// webhook thread or featmon-report that called it goes on.
#include "daemon/http/http_client.h"

#include <chrono>
#include <future>
#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <gtest/gtest.h>

namespace featmon {
namespace {

using tcp = boost::asio::ip::tcp;
using Clock = std::chrono::steady_clock;

TEST(HttpClientTest, GivesUpOnAReceiverThatAcceptsAndNeverAnswers) {
  boost::asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket held(io);
  // Accepts on a thread of its own and then holds the connection, reading
  // nothing and answering nothing.
  auto accepted = std::async(std::launch::async, [&] { acceptor.accept(held); });
  HttpUrl url{"127.0.0.1", std::to_string(acceptor.local_endpoint().port()), "/hooks/retrain"};
  HttpCall call;
  call.method = "POST";
  call.body = "{}";
  call.timeout_ms = 300;
  const auto start = Clock::now();
  auto exchange = std::async(std::launch::async, [&] { return HttpExchange(url, call); });
  const bool returned = exchange.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  accepted.wait();
  boost::system::error_code ignored;
  held.close(ignored);  // if the exchange is still waiting, this lets it return so the test can end
  Result<HttpAnswer> answer = exchange.get();
  ASSERT_TRUE(returned) << "HttpExchange was still waiting after 5 s with a 300 ms timeout";
  EXPECT_LT(seconds, 2.0);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(answer.status().message().find("300 ms"), std::string::npos) << answer.status().message();
}

TEST(HttpClientTest, ARefusedConnectionSaysSo) {
  // A port that was bound and released: nothing listens on it.
  std::string port;
  {
    boost::asio::io_context io;
    tcp::acceptor acceptor(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    port = std::to_string(acceptor.local_endpoint().port());
  }
  HttpCall call;
  call.timeout_ms = 2'000;
  Result<HttpAnswer> answer = HttpExchange(HttpUrl{"127.0.0.1", port, "/"}, call);
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.status().message().find("connecting 127.0.0.1:" + port), std::string::npos)
      << answer.status().message();
}

}  // namespace
}  // namespace featmon
