// The expected features, computed the naive way from the list of events each
// counted once: no tiles, no sketches, no shards. Valid for as_of at or after
// the newest event with every event inside the shortest (1h) window's
// guaranteed span, which is how the integration tests choose timestamps.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "features/event.h"

namespace featmon::testing {

struct OracleEntity {
  int64_t views = 0, clicks = 0, last_ts = 0;
  std::set<std::string> distinct;                       // items viewed (user) / users who viewed (item)
  std::vector<std::pair<int64_t, std::string>> clicked;  // (ts, item), users only
};

class Oracle {
 public:
  void Add(const Event& e) {
    for (int k = 0; k < 2; ++k) {
      OracleEntity& o = entities_[k][k == 0 ? e.user_id : e.item_id];
      o.last_ts = std::max(o.last_ts, e.ts_ms);
      if (e.type == EventType::kView) {
        ++o.views;
        o.distinct.insert(k == 0 ? e.item_id : e.user_id);
      } else {
        ++o.clicks;
        if (k == 0) o.clicked.emplace_back(e.ts_ms, e.item_id);
      }
    }
  }
  const std::map<std::string, OracleEntity>& entities(EntityKind k) const { return entities_[static_cast<int>(k)]; }

  // Differences between an API answer and the oracle; empty when they agree.
  static std::vector<std::string> Compare(EntityKind kind, const std::string& id, const OracleEntity& want,
                                          const nlohmann::json& got) {
    std::vector<std::string> diffs;
    auto diff = [&](const std::string& what, const std::string& w, const std::string& g) {
      diffs.push_back(std::string(EntityKindName(kind)) + " " + id + " " + what + ": want " + w + ", got " + g);
    };
    if (!got.is_object() || !got.contains("features")) {
      diffs.push_back(id + ": bad answer " + got.dump());
      return diffs;
    }
    const auto& f = got["features"];
    for (const char* w : {"1h", "24h", "7d"}) {
      if (f[std::string("views_") + w] != want.views) diff(std::string("views_") + w, std::to_string(want.views), f[std::string("views_") + w].dump());
      if (f[std::string("clicks_") + w] != want.clicks) diff(std::string("clicks_") + w, std::to_string(want.clicks), f[std::string("clicks_") + w].dump());
    }
    if (want.views == 0) {
      if (!f["ctr_24h"].is_null()) diff("ctr_24h", "null", f["ctr_24h"].dump());
    } else {
      double ctr = static_cast<double>(want.clicks) / static_cast<double>(want.views);
      if (!f["ctr_24h"].is_number() || std::abs(f["ctr_24h"].get<double>() - ctr) > 1e-12) diff("ctr_24h", std::to_string(ctr), f["ctr_24h"].dump());
    }
    if (f["last_event_ts_ms"] != want.last_ts) diff("last_event_ts_ms", std::to_string(want.last_ts), f["last_event_ts_ms"].dump());
    const char* distinct = kind == EntityKind::kUser ? "distinct_items_viewed_24h" : "distinct_users_viewed_24h";
    const int64_t d = static_cast<int64_t>(want.distinct.size());
    if (!f[distinct].is_number_integer() || std::abs(f[distinct].get<int64_t>() - d) > (d < 100 ? 1 : d * 3 / 100))
      diff(distinct, std::to_string(d), f[distinct].dump());
    if (kind == EntityKind::kUser) {
      // Newest first; clicks with equal timestamps in the order they were
      // read, as featmond keeps them (two loads of one test can produce the
      // same timestamp for one user, and sorting ties by item disagreed).
      auto clicked = want.clicked;
      std::stable_sort(clicked.begin(), clicked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
      nlohmann::json expect = nlohmann::json::array();
      std::set<std::string> seen;
      for (const auto& [ts, item] : clicked) {
        if (expect.size() == 20) break;
        if (seen.insert(item).second) expect.push_back(item);
      }
      if (f["last_clicked_items"] != expect) diff("last_clicked_items", expect.dump(), f["last_clicked_items"].dump());
    }
    return diffs;
  }

 private:
  std::map<std::string, OracleEntity> entities_[2];
};

}  // namespace featmon::testing
