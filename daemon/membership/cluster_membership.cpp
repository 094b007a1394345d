#include "daemon/membership/cluster_membership.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cluster/standby_policy.h"
#include "daemon/http/http_server.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
// How often a failing self-check is logged again.
constexpr int64_t kCheckLogEveryNs = 30'000'000'000;
constexpr int64_t kCheckRetryNs = 1'000'000'000;

std::string NewRunId() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return fmt::format("{:016x}", v);
}
}  // namespace

std::unique_ptr<ClusterMembership> ClusterMembership::Start(ClusterMembershipOptions options,
                                                            std::unique_ptr<MembersTopic> topic,
                                                            const IngestStatus* ingest, const Clock* clock) {
  std::unique_ptr<ClusterMembership> m(new ClusterMembership());
  m->options_ = std::move(options);
  m->topic_ = std::move(topic);
  m->ingest_ = ingest;
  m->clock_ = clock;
  m->run_id_ = NewRunId();
  m->peers_ = std::make_unique<PeerClient>(PeerClientOptions{.timeout_ms = m->options_.proxy_timeout_ms});
  m->thread_ = std::thread([raw = m.get()] { raw->Run(); });
  return m;
}

ClusterMembership::~ClusterMembership() { Leave(0); }

void ClusterMembership::Leave(int timeout_ms) {
  bool announced;
  {
    std::lock_guard lock(mu_);
    if (leaving_) return;
    leaving_ = true;
    announced = announced_;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (!announced || timeout_ms <= 0) return;
  Status st = topic_->Leave(options_.advertised_url, timeout_ms);
  if (!st.ok()) Log(Component::kApp).warn("cluster: {} (the others find this instance gone once the group moves its tasks)",
                                          st.ToString());
}

MemberAnnouncement ClusterMembership::Current() const {
  MemberAnnouncement a;
  a.url = options_.advertised_url;
  a.run_id = run_id_;
  // A task is a partition number: partition p of every input topic.
  const IngestSnapshot snapshot = ingest_->Snapshot();
  for (const PartitionStatus& p : snapshot.partitions) a.tasks.push_back(p.tp.partition);
  std::sort(a.tasks.begin(), a.tasks.end());
  a.tasks.erase(std::unique(a.tasks.begin(), a.tasks.end()), a.tasks.end());
  for (const StandbyStatus& standby : snapshot.standbys) a.standby_tasks.push_back(standby.task);
  a.total_tasks = ingest_->Holdings().total;
  const std::atomic<bool>* monitoring = monitoring_owner_.load();
  a.monitoring = monitoring && monitoring->load();
  a.at_ms = clock_->NowMs();
  return a;
}

Status ClusterMembership::CheckAdvertisedUrl() {
  PeerRequest r{"GET", "/v1/cluster", "", {{kForwardedHeader, "1"}}};
  if (!options_.bearer_token.empty()) r.headers.emplace_back("Authorization", "Bearer " + options_.bearer_token);
  auto answer = peers_->Send(options_.advertised_url, r);
  if (!answer.ok()) return answer.status();
  if (answer->status != 200)
    return Status::Unavailable("GET /v1/cluster there answered " + std::to_string(answer->status));
  const auto j = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
  const bool mine = !j.is_discarded() && j.contains("member") && j["member"].is_object() &&
                    j["member"].value("run_id", "") == run_id_;
  if (!mine) return Status::Unavailable("it reaches another featmond (or something else), not this one");
  return Status::Ok();
}

void ClusterMembership::Run() {
  MemberAnnouncement last;
  bool verified = false;
  int64_t last_announce_ns = 0, next_check_ns = 0, last_logged_ns = -kCheckLogEveryNs;
  std::unique_lock lock(mu_);
  while (!leaving_) {
    lock.unlock();
    const int64_t now = clock_->MonotonicNs();
    if (!verified && now >= next_check_ns) {
      Status st = CheckAdvertisedUrl();
      verified = st.ok();
      next_check_ns = now + kCheckRetryNs;
      if (!verified && now - last_logged_ns >= kCheckLogEveryNs) {
        last_logged_ns = now;
        Log(Component::kApp).error(
            "cluster: http.advertised_url {} does not reach this instance ({}); it is not announced, so other "
            "instances answer 503 for the tasks it holds. Set it to the URL the others reach this instance at, "
            "e.g. http://$(POD_NAME).<headless service>:8080",
            options_.advertised_url, st.message());
      }
      std::lock_guard guard(mu_);
      url_check_ = verified ? "ok" : st.message();
    }
    if (verified) {
      MemberAnnouncement now_held = Current();
      const bool changed = now_held.tasks != last.tasks || now_held.total_tasks != last.total_tasks ||
                           now_held.standby_tasks != last.standby_tasks || now_held.monitoring != last.monitoring;
      if (changed || now - last_announce_ns >= options_.announce_interval_ms * 1'000'000) {
        Status st = topic_->Announce(now_held);
        if (st.ok()) {
          if (changed) Log(Component::kApp).info("cluster: announced {} with {} tasks", now_held.url, now_held.tasks.size());
          last = std::move(now_held);
          last_announce_ns = now;
          std::lock_guard guard(mu_);
          announced_ = true;
        } else {
          Log(Component::kApp).warn("cluster: {}", st.ToString());
        }
      }
    }
    lock.lock();
    wake_.wait_for(lock, std::chrono::milliseconds(options_.holdings_poll_ms), [&] { return leaving_; });
  }
}

std::set<int32_t> ClusterMembership::StandbyTasks(int replicas) const {
  const std::vector<int32_t> tasks =
      cluster::StandbyTasksOf(topic_->Members(), options_.advertised_url, ingest_->Holdings().total, replicas);
  return {tasks.begin(), tasks.end()};
}

std::optional<std::string> ClusterMembership::MonitoringOwnerUrl() const {
  auto owner = topic_->MonitoringOwner();
  if (!owner || owner->url == options_.advertised_url) return std::nullopt;
  return owner->url;
}

std::optional<std::string> ClusterMembership::OwnerUrl(int32_t task) const {
  auto owner = topic_->OwnerOf(task);
  if (!owner || owner->url == options_.advertised_url) return std::nullopt;
  return owner->url;
}

Result<HttpAnswer> ClusterMembership::Send(const std::string& url, const PeerRequest& request) {
  return peers_->Send(url, request);
}

std::string ClusterMembership::ClusterJson() const {
  nlohmann::json j;
  {
    std::lock_guard lock(mu_);
    j["member"] = {{"url", options_.advertised_url}, {"run_id", run_id_}, {"advertised_url_check", url_check_},
                   {"announced", announced_}};
  }
  const TaskHoldings holdings = ingest_->Holdings();
  j["tasks_total"] = holdings.total > 0 ? nlohmann::json(holdings.total) : nlohmann::json(nullptr);
  j["members"] = nlohmann::json::array();
  for (const MemberDirectory::Member& m : topic_->Members()) {
    j["members"].push_back({{"url", m.announced.url},
                            {"run_id", m.announced.run_id},
                            {"owned_tasks", m.owned},
                            {"announced_tasks", m.announced.tasks},
                            {"standby_tasks", m.announced.standby_tasks},
                            {"monitoring", m.announced.monitoring},
                            {"announced_at_ms", m.announced.at_ms},
                            {"this", m.announced.url == options_.advertised_url && m.announced.run_id == run_id_}});
  }
  j["unclaimed_tasks"] = topic_->Unclaimed(holdings.total);
  const auto monitoring = topic_->MonitoringOwner();
  j["monitoring_owner"] = monitoring ? nlohmann::json(monitoring->url) : nlohmann::json(nullptr);
  // This member's standby copies, and its assigned tasks restoring from the
  // changelog, with how far each has read its partition.
  const IngestSnapshot snapshot = ingest_->Snapshot();
  auto progress = [](const std::vector<StandbyStatus>& copies) {
    nlohmann::json out = nlohmann::json::array();
    for (const StandbyStatus& s : copies) {
      nlohmann::json entry = {{"task", s.task}, {"read_to_offset", s.next_offset}};
      entry["changelog_end"] = s.end_offset >= 0 ? nlohmann::json(s.end_offset) : nlohmann::json(nullptr);
      entry["behind_records"] = s.end_offset >= 0 ? nlohmann::json(std::max<int64_t>(0, s.end_offset - s.next_offset))
                                                  : nlohmann::json(nullptr);
      out.push_back(std::move(entry));
    }
    return out;
  };
  j["standbys"] = progress(snapshot.standbys);
  j["restoring"] = progress(snapshot.changelog_restores);
  j["members_topic"] = {{"records_read", topic_->records_read()}, {"last_error", topic_->last_error()}};
  return j.dump();
}

}  // namespace featmon
