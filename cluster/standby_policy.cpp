#include "cluster/standby_policy.h"

#include <algorithm>
#include <map>

namespace featmon::cluster {

std::vector<int32_t> StandbyTasksOf(const std::vector<MemberDirectory::Member>& members, const std::string& self_url,
                                    int32_t total_tasks, int replicas) {
  // Only members that own tasks: one killed without a tombstone stays
  // listed, owning nothing, and must not take standby roles from the living.
  std::vector<std::string> urls;
  for (const MemberDirectory::Member& m : members)
    if (!m.owned.empty()) urls.push_back(m.announced.url);
  std::sort(urls.begin(), urls.end());
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  const auto self = std::find(urls.begin(), urls.end(), self_url);
  if (self == urls.end() || replicas <= 0 || urls.size() < 2) return {};
  const auto n = static_cast<int64_t>(urls.size());
  const int64_t self_at = self - urls.begin();
  std::map<int32_t, int64_t> owner_at;
  for (const MemberDirectory::Member& m : members) {
    if (m.owned.empty()) continue;
    const int64_t at = std::find(urls.begin(), urls.end(), m.announced.url) - urls.begin();
    for (int32_t task : m.owned) owner_at[task] = at;
  }
  const int64_t copies = std::min<int64_t>(replicas, n - 1);
  std::vector<int32_t> out;
  for (int32_t task = 0; task < total_tasks; ++task) {
    auto owned = owner_at.find(task);
    const int64_t owner = owned != owner_at.end() ? owned->second : task % n;
    const int64_t after = (self_at - owner + n) % n;  // how far self follows the owner
    if (after >= 1 && after <= copies) out.push_back(task);
  }
  return out;
}

}  // namespace featmon::cluster
