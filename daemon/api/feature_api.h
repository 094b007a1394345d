// The HTTP API of featmond: feature lookups, status, health and metrics.
//
//   GET  /v1/features/{user|item}/{id}[?as_of_ms=N][&tiles=true]
//   POST /v1/features/batch   {"entity":"user","ids":[...],"as_of_ms":N}
//   GET  /v1/monitoring/models, /v1/monitoring/models/{model}
//   GET  /v1/status, /v1/cluster, /healthz, /readyz, /metrics
//   GET  /ui/, /ui/models/{model}, /ui/features: pages drawn from the routes above
//
// Under http.isolation: read_uncommitted (the default) lookups read the
// ingest pipelines' cached states where they hold the entity, which include
// events applied since the last commit (daemon/ingest/live_states.h says what
// a crash can take back), and committed state for the other shards; under
// read_committed only committed state, so an answer never shows an event whose
// offset is not yet persisted. An as_of_ms
// in the past is answered only where the state can answer it exactly
// (FeatureEngine::CheckAsOf); otherwise 400 says how far back it can go.
// Without as_of_ms, a lookup is as of now, or as of the entity's latest event
// when that is stamped later.
//
// In a cluster (instances sharing a consumer group, with PeerRouting), a
// user whose task another member owns is asked of that member over a pooled
// keep-alive connection and its answer returned as it is; a batch sends one
// sub-batch per owner, all at once, and answers in request order. An item,
// whose events come from every task, is answered from its states in every
// task's shards, gathered from the members owning them (each task from one). A request
// another member forwarded (HttpRequest::forwarded) is answered here or
// refused, never forwarded again. An owner that is unknown or does not
// answer gives 503 with Retry-After, never a value from here.
// Thread-safety: Handle may run on several I/O threads at once.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/clock.h"
#include "daemon/ingest/ingest_status.h"
#include "daemon/ingest/live_states.h"
#include "daemon/api/peer_routing.h"
#include "daemon/monitor/monitoring_reports.h"
#include "daemon/http/http_server.h"
#include "daemon/metrics/metrics.h"
#include "daemon/store/state_store.h"
#include "features/feature_engine.h"

namespace featmon {

struct FeatureApiOptions {
  std::string version;                   // reported by /v1/status
  std::string embedded_kafka_bootstrap;  // set when --embedded-kafka is on
  size_t max_batch_ids = 1000;           // larger batches get 400. Default: 1000
  size_t max_id_bytes = 256;             // longer ids get 400. Default: 256
  // Required as "Authorization: Bearer <token>" by the routes that reveal
  // internals (/v1/status, /v1/monitoring); empty leaves them open. Default: ""
  std::string bearer_token;
  // kafka.item_repartition_topic is set: an item's state lives in one task,
  // murmur2(item_id) % tasks, so an item is served or routed as a user is;
  // otherwise its partial states are gathered from every task. Default: false
  bool items_keyed = false;
};

class FeatureApi {
 public:
  FeatureApi(FeatureApiOptions options, const FeatureSet* features, StateStore* store,
             const IngestStatus* ingest, Metrics* metrics, const Clock* clock);
  HttpResponse Handle(const HttpRequest& request);
  // Monitoring reports; without them /v1/monitoring answers 404.
  void set_monitoring(const MonitoringReports* reports) { monitoring_ = reports; }
  // States not yet committed, read before the store (read_uncommitted); without them only the store.
  void set_live_states(const LiveStates* live) { live_ = live; }
  // Owners of other tasks; without it their users get 503 naming the task.
  void set_peer_routing(PeerRouting* routing) { routing_ = routing; }

  // One entity as the JSON object the API returns; exposed for tests and the
  // batch route. InvalidArgument: the state cannot answer as_of_ms exactly.
  // With `with_tiles`, also "tiles": each windowed count's and sum's tiles
  // in its window (GET ...?tiles=true; the feature page draws them).
  // When the key's task is held by another member, the refusal is
  // Unavailable and *elsewhere_task (when given) is set to that task.
  Status LookupJson(EntityKind kind, std::string_view id, std::optional<int64_t> as_of_ms, std::string* out,
                    bool with_tiles = false, int* elsewhere_task = nullptr);

 private:
  // 401 unless the request carries the configured bearer token (or none is configured).
  std::optional<HttpResponse> Unauthorized(const HttpRequest& request) const;
  HttpResponse Route(const HttpRequest& request, const std::string& path, const std::string& query,
                     std::string* route);
  HttpResponse Single(const HttpRequest& request, EntityKind kind, const std::string& id, const std::string& query);
  HttpResponse Batch(const HttpRequest& request);
  // A GET (or HEAD) lookup as sent on to the member that answers it: marked
  // forwarded, so it is never sent on again, with the caller's credentials.
  static PeerRequest Forwarded(const HttpRequest& request);
  // The answer of the member owning `task` to `forward`, or 503 saying why
  // there is none.
  HttpResponse AskOwner(int task, const PeerRequest& forward);
  // A monitoring report when another instance of the group monitors.
  HttpResponse AskMonitoringOwner(const HttpRequest& request);
  // 503 for `lookups` whose task no member has announced.
  HttpResponse OwnerUnknown(int task, size_t lookups);
  // Fills the results of `ids` at `slots` from their owners' batch answers.
  std::optional<HttpResponse> FanOut(const std::string& entity, const std::vector<std::pair<size_t, std::string>>& ids,
                                     const std::vector<int>& tasks, std::optional<int64_t> as_of,
                                     std::vector<std::string>* results);
  HttpResponse Cluster();
  // The entity's states in the shards this instance serves, each with its
  // task, and every task it serves (GET /v1/internal/shards/{kind}/{id},
  // asked by GatherFromCluster of another member).
  HttpResponse ServedShards(EntityKind kind, const std::string& id);
  // An entity whose events come from every task (an item): its states from
  // the shards served here and from the owners of every other task, each
  // task from exactly one member; Unavailable when any task has no owner
  // serving it.
  Status GatherFromCluster(EntityKind kind, std::string_view id, int32_t total_tasks,
                           std::vector<std::pair<ShardId, EntityState>>* out);
  // Whether a keyed entity (a user, or a re-keyed item) without state here
  // truly has no events: its task is served here.
  bool HasNoEvents(EntityKind kind, std::string_view id, int32_t total_tasks) const;
  Status ReadShards(EntityKind kind, std::string_view id, std::vector<ShardId> candidates,
                    std::vector<std::pair<ShardId, EntityState>>* out);
  HttpResponse Status_();
  void AppendTiles(EntityKind kind, const std::vector<const EntityState*>& shards, int64_t as_of_ms,
                   std::string* out) const;
  HttpResponse Page(const std::string& path);
  HttpResponse Ready();
  HttpResponse MetricsText();

  FeatureApiOptions options_;
  const FeatureSet* features_;
  FeatureEngine engine_;
  StateStore* store_;
  const IngestStatus* pipeline_;
  const MonitoringReports* monitoring_ = nullptr;
  const LiveStates* live_ = nullptr;
  PeerRouting* routing_ = nullptr;
  Metrics* metrics_;
  const Clock* clock_;
  std::map<std::string, prometheus::Histogram*> route_latency_;
};

}  // namespace featmon
