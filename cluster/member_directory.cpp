#include "cluster/member_directory.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace featmon {

std::string EncodeAnnouncement(const MemberAnnouncement& a) {
  nlohmann::json j;
  j["url"] = a.url;
  j["run_id"] = a.run_id;
  j["tasks"] = a.tasks;
  j["total_tasks"] = a.total_tasks;
  j["at_ms"] = a.at_ms;
  if (!a.standby_tasks.empty()) j["standby_tasks"] = a.standby_tasks;
  if (a.monitoring) j["monitoring"] = true;
  return j.dump();
}

Result<MemberAnnouncement> DecodeAnnouncement(std::string_view json) {
  const nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Status::Corruption("a member announcement is not a JSON object");
  MemberAnnouncement a;
  auto string_field = [&](const char* name, std::string* out) {
    if (!j.contains(name) || !j[name].is_string()) return false;
    *out = j[name].get<std::string>();
    return true;
  };
  if (!string_field("url", &a.url) || a.url.empty()) return Status::Corruption("a member announcement without \"url\"");
  if (!string_field("run_id", &a.run_id)) return Status::Corruption("member " + a.url + ": no \"run_id\"");
  if (!j.contains("tasks") || !j["tasks"].is_array()) return Status::Corruption("member " + a.url + ": no \"tasks\" array");
  for (const auto& t : j["tasks"]) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
      return Status::Corruption("member " + a.url + ": a task is not a partition number");
    a.tasks.push_back(t.get<int32_t>());
  }
  std::sort(a.tasks.begin(), a.tasks.end());
  a.tasks.erase(std::unique(a.tasks.begin(), a.tasks.end()), a.tasks.end());
  if (j.contains("total_tasks") && j["total_tasks"].is_number_integer()) a.total_tasks = j["total_tasks"].get<int32_t>();
  if (j.contains("at_ms") && j["at_ms"].is_number_integer()) a.at_ms = j["at_ms"].get<int64_t>();
  // For people reading /v1/cluster only: a member without them is still read.
  if (j.contains("standby_tasks") && j["standby_tasks"].is_array())
    for (const auto& t : j["standby_tasks"])
      if (t.is_number_integer() && t.get<int64_t>() >= 0 && t.get<int64_t>() <= INT32_MAX)
        a.standby_tasks.push_back(t.get<int32_t>());
  // Absent in announcements of featmond before 2026-12-06: not monitoring.
  if (j.contains("monitoring") && j["monitoring"].is_boolean()) a.monitoring = j["monitoring"].get<bool>();
  return a;
}

void MemberDirectory::Announce(MemberAnnouncement a, int64_t offset) {
  const std::string url = a.url;
  members_[url] = Entry{std::move(a), offset};
  Resolve();
}

void MemberDirectory::Leave(const std::string& url) {
  members_.erase(url);
  Resolve();
}

void MemberDirectory::Resolve() {
  owner_.clear();
  monitoring_owner_.clear();
  std::map<int32_t, int64_t> claimed_at;
  int64_t monitoring_claimed_at = -1;
  for (const auto& [url, e] : members_) {
    if (e.announced.monitoring && e.offset > monitoring_claimed_at) {
      monitoring_claimed_at = e.offset;
      monitoring_owner_ = url;
    }
    for (int32_t task : e.announced.tasks) {
      auto [it, fresh] = claimed_at.try_emplace(task, e.offset);
      if (fresh || e.offset > it->second) {
        it->second = e.offset;
        owner_[task] = url;
      }
    }
  }
}

const MemberAnnouncement* MemberDirectory::OwnerOf(int32_t task) const {
  auto it = owner_.find(task);
  return it == owner_.end() ? nullptr : &members_.at(it->second).announced;
}

const MemberAnnouncement* MemberDirectory::MonitoringOwner() const {
  return monitoring_owner_.empty() ? nullptr : &members_.at(monitoring_owner_).announced;
}

std::vector<MemberDirectory::Member> MemberDirectory::Members() const {
  std::vector<Member> out;
  for (const auto& [url, e] : members_) {
    Member m{e.announced, {}, e.offset};
    for (int32_t task : e.announced.tasks)
      if (owner_.at(task) == url) m.owned.push_back(task);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<int32_t> MemberDirectory::Unclaimed(int32_t total_tasks) const {
  std::vector<int32_t> out;
  for (int32_t t = 0; t < total_tasks; ++t)
    if (!owner_.count(t)) out.push_back(t);
  return out;
}

}  // namespace featmon
