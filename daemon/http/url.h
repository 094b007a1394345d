// Request targets as HTTP servers receive them: percent-decoding (RFC 3986
// §2.1) and query-string parameters.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace featmon {

// Decodes %XX escapes into *out. False when an escape is not two hex digits.
// '+' stays '+': only query strings written by HTML forms use it for spaces.
bool PercentDecode(std::string_view in, std::string* out);

// Escapes every byte outside RFC 3986's unreserved set as %XX, for one path
// segment or query value.
std::string PercentEncode(std::string_view in);

// The value of `name` in a query string ("a=1&b=2"), percent-decoded; an
// empty string when the parameter has no value or a bad escape; nullopt when
// it is absent.
std::optional<std::string> QueryParam(std::string_view query, std::string_view name);

}  // namespace featmon
