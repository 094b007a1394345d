#include "daemon/http/url.h"

#include <cctype>
#include <charconv>

namespace featmon {

bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;  // needs two hex digits
      int v = 0;
      auto [end, ec] = std::from_chars(in.data() + i + 1, in.data() + i + 3, v, 16);
      if (ec != std::errc() || end != in.data() + i + 3) return false;
      out->push_back(static_cast<char>(v));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

std::string PercentEncode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> QueryParam(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view part = query.substr(pos, amp - pos);
    size_t eq = part.find('=');
    if (part.substr(0, eq) == name) {
      std::string value;
      if (eq == std::string_view::npos || !PercentDecode(part.substr(eq + 1), &value)) return std::string();
      return value;
    }
    pos = amp + 1;
  }
  return std::nullopt;
}

}  // namespace featmon
