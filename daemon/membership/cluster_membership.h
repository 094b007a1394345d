// This instance's membership in its cluster (the instances sharing its
// consumer group): it checks that its advertised URL reaches itself,
// announces that URL and the tasks it holds on the members topic (after
// every change, and every announce_interval_ms), leaves with a tombstone when
// it stops, and answers the HTTP API's routing questions (PeerRouting) from
// what the others announced.
//
// The URL is checked before it is announced: GET <advertised_url>/v1/cluster
// must answer with this process's run id. A URL that reaches nothing, or
// another instance, is never announced, so lookups of this instance's tasks
// get 503 elsewhere ("no member has announced task N") and the log says what
// to fix, instead of being sent where they cannot be answered.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "daemon/api/peer_routing.h"
#include "daemon/http/peer_client.h"
#include "daemon/ingest/ingest_status.h"
#include "daemon/kafka/members_topic.h"

namespace featmon {

struct ClusterMembershipOptions {
  std::string advertised_url;             // http.advertised_url. Required.
  std::string bearer_token;               // http.bearer_token: the self-check's GET /v1/cluster needs it
  int64_t proxy_timeout_ms = 1'000;       // http.proxy_timeout. Default: 1s
  int64_t announce_interval_ms = 30'000;  // announced again this often without a change. Default: 30s
  int64_t holdings_poll_ms = 100;         // how soon a change of held tasks is announced. Default: 100ms
};

class ClusterMembership final : public PeerRouting {
 public:
  static std::unique_ptr<ClusterMembership> Start(ClusterMembershipOptions options, std::unique_ptr<MembersTopic> topic,
                                                  const IngestStatus* ingest, const Clock* clock);
  ~ClusterMembership() override;

  // Stops announcing and leaves (a tombstone, waited for up to timeout_ms),
  // so lookups stop coming before the group takes the tasks. Idempotent.
  void Leave(int timeout_ms);

  // The tasks this member keeps warm standbys of, from what the members
  // announced (cluster/standby_policy.h).
  std::set<int32_t> StandbyTasks(int replicas) const;

  // Whether this instance runs the group's monitoring now; announced with
  // its tasks. Before Start's thread reads it: set right after Start, or
  // never (then it is announced as not monitoring).
  void set_monitoring_owner(const std::atomic<bool>* owner) { monitoring_owner_.store(owner); }

  std::optional<std::string> OwnerUrl(int32_t task) const override;
  std::optional<std::string> MonitoringOwnerUrl() const override;
  Result<HttpAnswer> Send(const std::string& url, const PeerRequest& request) override;
  std::string ClusterJson() const override;

  const std::string& run_id() const { return run_id_; }

 private:
  ClusterMembership() = default;
  void Run();
  // GET <advertised_url>/v1/cluster answered with our run id.
  Status CheckAdvertisedUrl();
  MemberAnnouncement Current() const;

  ClusterMembershipOptions options_;
  std::unique_ptr<MembersTopic> topic_;
  const IngestStatus* ingest_ = nullptr;
  std::atomic<const std::atomic<bool>*> monitoring_owner_{nullptr};
  const Clock* clock_ = nullptr;
  std::string run_id_;
  std::unique_ptr<PeerClient> peers_;
  mutable std::mutex mu_;
  std::string url_check_ = "pending";  // under mu_: "ok", or why the advertised URL is not announced
  bool announced_ = false;             // under mu_
  std::condition_variable wake_;
  bool leaving_ = false;               // under mu_
  std::thread thread_;
};

}  // namespace featmon
