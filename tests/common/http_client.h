// A blocking HTTP/1.1 client for tests: one request on a new connection to
// 127.0.0.1. Compiled once (http_client.cpp), so the many tests that include
// it do not each compile Boost.Beast.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace featmon::testing {

struct HttpResult {
  int status = 0;  // 0: no connection or no answer
  std::string body;
  bool keep_alive = false;
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // name, value

// One request on a new connection; status 0 when there is no answer.
HttpResult Http(uint16_t port, const std::string& method, const std::string& target, const std::string& body = "",
                const HttpHeaders& headers = {});

// A port on 127.0.0.1 that was free a moment ago.
uint16_t FreePort();

}  // namespace featmon::testing
