// Every entity the oracle knows, read back from a running featmond through
// the batch route (500 ids a request) and compared with the oracle.
#pragma once

#include "tests/integration/harness.h"
#include "tests/integration/oracle.h"

namespace featmon::testing {

struct OracleComparison {
  size_t compared = 0;             // entities read back
  std::vector<std::string> diffs;  // one line per differing feature; also bad answers
};

inline OracleComparison CompareWithOracle(uint16_t port, const Oracle& oracle, int64_t as_of_ms,
                                          std::vector<EntityKind> kinds = {EntityKind::kUser, EntityKind::kItem}) {
  OracleComparison out;
  for (EntityKind kind : kinds) {
    std::vector<std::string> ids;
    for (const auto& [id, _] : oracle.entities(kind)) ids.push_back(id);
    for (size_t from = 0; from < ids.size(); from += 500) {
      nlohmann::json req = {{"entity", std::string(EntityKindName(kind))}, {"as_of_ms", as_of_ms},
                            {"ids", std::vector<std::string>(ids.begin() + from,
                                                             ids.begin() + std::min(ids.size(), from + 500))}};
      auto res = Http(port, "POST", "/v1/features/batch", req.dump());
      if (res.status != 200) {
        out.diffs.push_back("batch answered " + std::to_string(res.status) + ": " + res.body);
        continue;
      }
      const nlohmann::json answer = res.json();  // the loop below holds references into it
      for (const auto& r : answer["results"]) {
        const std::string id = r["id"];
        if (r["found"] != true) out.diffs.push_back(std::string(EntityKindName(kind)) + " " + id + " not found");
        for (auto& d : Oracle::Compare(kind, id, oracle.entities(kind).at(id), r)) out.diffs.push_back(d);
        ++out.compared;
      }
    }
  }
  return out;
}

}  // namespace featmon::testing
