// A hash map keyed by strings and looked up by string_view, so finding an id
// taken from a decoded message copies nothing. An absl Swiss table: open
// addressing, one probe of control bytes and one of the slot per lookup.
// (Debian's absl::string_view is its own type, not std::string_view, so its
// own transparent StringHash does not take ours.)
#pragma once

#include <string>
#include <string_view>

#include <absl/container/flat_hash_map.h>
#include <absl/container/flat_hash_set.h>
#include <absl/hash/hash.h>

namespace featmon {

struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return absl::Hash<std::string_view>{}(s); }
};
struct StringViewEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

template <typename V>
using StringMap = absl::flat_hash_map<std::string, V, StringViewHash, StringViewEq>;
using StringSet = absl::flat_hash_set<std::string, StringViewHash, StringViewEq>;

}  // namespace featmon
