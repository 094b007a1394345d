// Writing JSON text by hand on hot paths (feature lookups), where building a
// document object first would cost more than the lookup itself.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace featmon {

// `s` as a JSON string literal, quotes included. Bytes that are not valid
// UTF-8 become U+FFFD, so the output is always valid JSON (RFC 8259 §8.1).
void AppendJsonString(std::string* out, std::string_view s);

void AppendJsonInt(std::string* out, int64_t v);
// Shortest round-trip form; NaN and infinities, which JSON cannot hold, as null.
void AppendJsonDouble(std::string* out, double v);

}  // namespace featmon
