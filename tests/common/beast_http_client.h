// Beast-level helpers for tests that drive a connection by hand (kept-alive
// streams, connection limits). Tests that only need a request and its answer
// use http_client.h, which keeps Boost out of their translation units.
#pragma once

#include <utility>  // Boost 1.74 asio needs std::exchange under C++20

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <string>

#include "tests/common/http_client.h"

namespace featmon::testing {

boost::beast::tcp_stream ConnectHttp(boost::asio::io_context& io, uint16_t port);

// One request on an open stream; status 0 when the server closed it instead of answering.
HttpResult SendHttp(boost::beast::tcp_stream& stream, const std::string& method, const std::string& target,
                    const std::string& body = "", const HttpHeaders& headers = {});

}  // namespace featmon::testing
