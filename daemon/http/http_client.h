// One blocking HTTP/1.1 request on a new connection: featmond's webhook
// deliveries and featmon-report's fetches. http:// only (put a TLS relay in
// front of an https receiver).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace featmon {

struct HttpUrl {
  std::string host, port, target;
};
// http://host[:port][/path], IPv6 hosts in brackets; the port defaults to 80.
Result<HttpUrl> ParseHttpUrl(const std::string& url);

struct HttpCall {
  std::string method = "GET";
  std::string body;
  std::string content_type;   // sent when not empty
  std::string authorization;  // sent as Authorization when not empty
  int64_t timeout_ms = 5'000;  // connect, request and answer together
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

// Any answer, whatever its status; Unavailable when none came (refused,
// unresolvable, timed out, cut off).
Result<HttpAnswer> HttpExchange(const HttpUrl& url, const HttpCall& call);

}  // namespace featmon
