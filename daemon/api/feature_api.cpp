#include "daemon/api/feature_api.h"

#include <nlohmann/json.hpp>

#include "cluster/key_partitioner.h"
#include "common/utf8.h"
#include "daemon/http/json_text.h"
#include "daemon/http/url.h"
#include "daemon/ui/ui_assets.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <future>
#include <map>
#include <set>

namespace featmon {

namespace {

HttpResponse JsonError(int status, const std::string& message) {
  std::string body = "{\"error\":";
  AppendJsonString(&body, message);
  body += "}";
  return {status, "application/json", std::move(body)};
}

// 405 with the methods the route takes.
HttpResponse MethodNotAllowed(const std::string& message, const char* allow) {
  HttpResponse r = JsonError(405, message);
  r.allow = allow;
  return r;
}

// HEAD is GET without the body, which the server drops.
bool IsGet(const HttpRequest& r) { return r.method == "GET" || r.method == "HEAD"; }

// A lookup the request made impossible (an as_of too far back) is the
// caller's 400; a store that cannot answer is 503, never a made-up value.
// 400 for the request's fault; otherwise 503, worth retrying: a store that
// failed, or a key this instance cannot answer for now.
HttpResponse LookupError(const Status& st) {
  if (st.code() == StatusCode::kInvalidArgument) return JsonError(400, st.message());
  HttpResponse r = JsonError(503, st.ToString());
  r.retry_after = "1";
  return r;
}

bool ParseEntity(std::string_view s, EntityKind* kind) {
  if (s == "user") *kind = EntityKind::kUser;
  else if (s == "item") *kind = EntityKind::kItem;
  else return false;
  return true;
}

}  // namespace

FeatureApi::FeatureApi(FeatureApiOptions options, const FeatureSet* features, StateStore* store,
                       const IngestStatus* pipeline, Metrics* metrics, const Clock* clock)
    : options_(std::move(options)),
      features_(features),
      engine_(features),
      store_(store),
      pipeline_(pipeline),
      metrics_(metrics),
      clock_(clock) {
  for (const char* route :
       {"features", "features_batch", "monitoring", "ui", "status", "cluster", "internal", "healthz", "readyz", "metrics",
        "other"})
    route_latency_[route] = &metrics_->HttpRequestDuration(route);
}

HttpResponse FeatureApi::Handle(const HttpRequest& request) {
  const int64_t start = clock_->MonotonicNs();
  const size_t q = request.target.find('?');
  const std::string path = request.target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : request.target.substr(q + 1);
  std::string route = "other";
  HttpResponse response = Route(request, path, query, &route);
  route_latency_[route]->Observe(static_cast<double>(clock_->MonotonicNs() - start) / 1e9);
  return response;
}

std::optional<HttpResponse> FeatureApi::Unauthorized(const HttpRequest& request) const {
  const std::string& token = options_.bearer_token;
  if (token.empty()) return std::nullopt;
  // credentials = auth-scheme 1*SP token68; the scheme is case-insensitive (RFC 9110 §11.1, §11.4).
  std::string_view given = request.authorization;
  constexpr std::string_view kScheme = "bearer";
  bool match = given.size() > kScheme.size() && given[kScheme.size()] == ' ';
  for (size_t i = 0; match && i < kScheme.size(); ++i)
    match = std::tolower(static_cast<unsigned char>(given[i])) == kScheme[i];
  if (match) {
    given.remove_prefix(kScheme.size());
    while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
    match = given.size() == token.size();
  }
  // Compare every byte whatever the first difference, so timing tells nothing about the token.
  unsigned char diff = match ? 0 : 1;
  for (size_t i = 0; match && i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
  if (diff == 0) return std::nullopt;
  HttpResponse denied = JsonError(401, "this route needs Authorization: Bearer <token> (http.bearer_token_file or http.bearer_token_env)");
  denied.www_authenticate = "Bearer realm=\"featmond\"";
  return denied;
}

HttpResponse FeatureApi::Route(const HttpRequest& request, const std::string& path, const std::string& query,
                               std::string* route) {
  constexpr std::string_view kFeatures = "/v1/features/";
  if (path == "/v1/features/batch") {
    *route = "features_batch";
    if (request.method != "POST") return MethodNotAllowed("use POST for /v1/features/batch", "POST");
    return Batch(request);
  }
  if (path.rfind(kFeatures, 0) == 0) {
    *route = "features";
    if (!IsGet(request)) return MethodNotAllowed("use GET for feature lookups", "GET, HEAD");
    std::string_view rest = std::string_view(path).substr(kFeatures.size());
    size_t slash = rest.find('/');
    EntityKind kind;
    if (slash == std::string_view::npos || !ParseEntity(rest.substr(0, slash), &kind))
      return JsonError(404, "expected /v1/features/user/{id} or /v1/features/item/{id}");
    std::string id;
    if (!PercentDecode(rest.substr(slash + 1), &id)) return JsonError(400, "bad percent-encoding in id");
    // Ids are UTF-8 (protobuf strings and JSON text): another byte string names no entity.
    if (!IsValidUtf8(id)) return JsonError(400, "the id is not valid UTF-8");
    return Single(request, kind, id, query);
  }
  if (!IsGet(request)) return MethodNotAllowed("method not allowed", "GET, HEAD");
  constexpr std::string_view kModels = "/v1/monitoring/models";
  if (path.rfind(kModels, 0) == 0) {
    *route = "monitoring";
    if (auto denied = Unauthorized(request)) return *denied;
    if (!monitoring_) return JsonError(404, "model monitoring is disabled (monitoring.enabled: false)");
    if (!monitoring_->runs_here()) return AskMonitoringOwner(request);
    std::string_view rest = std::string_view(path).substr(kModels.size());
    if (rest.empty() || rest == "/") {
      std::string all = monitoring_->AllReports();
      if (all.empty()) return AskMonitoringOwner(request);  // it stopped monitoring meanwhile
      return {200, "application/json", std::move(all)};
    }
    if (rest[0] != '/') return JsonError(404, "no route for " + path);
    std::string model;
    if (!PercentDecode(rest.substr(1), &model)) return JsonError(400, "bad percent-encoding in model");
    if (!IsValidUtf8(model)) return JsonError(400, "the model name is not valid UTF-8");
    auto report = monitoring_->ModelReport(model);
    if (!report && !monitoring_->runs_here()) return AskMonitoringOwner(request);  // it stopped monitoring meanwhile
    if (!report) return JsonError(404, "model '" + model + "' has not been seen on the predictions topic");
    return {200, "application/json", *report};
  }
  if (path == "/ui" || path.rfind("/ui/", 0) == 0) {
    *route = "ui";
    return Page(path);
  }
  if (path == "/healthz") {
    *route = "healthz";
    return {200, "application/json", "{\"status\":\"ok\"}"};
  }
  if (path == "/readyz") {
    *route = "readyz";
    return Ready();
  }
  if (path == "/metrics") {
    *route = "metrics";
    return MetricsText();
  }
  if (path == "/v1/status") {
    *route = "status";
    if (auto denied = Unauthorized(request)) return *denied;
    return Status_();
  }
  constexpr std::string_view kInternalShards = "/v1/internal/shards/";
  if (path.rfind(kInternalShards, 0) == 0 && request.forwarded) {
    *route = "internal";
    std::string_view rest = std::string_view(path).substr(kInternalShards.size());
    const size_t slash = rest.find('/');
    EntityKind kind;
    std::string id;
    if (slash == std::string_view::npos || !ParseEntity(rest.substr(0, slash), &kind) ||
        !PercentDecode(rest.substr(slash + 1), &id) || id.empty())
      return JsonError(404, "expected /v1/internal/shards/{user|item}/{id}");
    return ServedShards(kind, id);
  }
  if (path == "/v1/cluster") {
    *route = "cluster";
    if (auto denied = Unauthorized(request)) return *denied;
    return Cluster();
  }
  return JsonError(404, "no route for " + path);
}

Status FeatureApi::LookupJson(EntityKind kind, std::string_view id, std::optional<int64_t> requested_as_of,
                              std::string* out, bool with_tiles, int* elsewhere_task) {
  // Never a partial or stale answer given as whole (cluster/serving_policy.h).
  const TaskHoldings holdings = pipeline_->Holdings();
  const bool keyed = kind == EntityKind::kUser || options_.items_keyed;
  const Coverage coverage = DecideServing(holdings, keyed);
  // A task whose local state is behind what its previous owner stored
  // answers nothing until it catches up: never a stale value.
  if (const std::vector<int32_t> restoring = pipeline_->RestoringTasks(); !restoring.empty() && holdings.total > 0) {
    const int task = KafkaDefaultPartition(id, holdings.total);
    if (!keyed || std::binary_search(restoring.begin(), restoring.end(), task)) {
      metrics_->LookupsRefused("restoring").Increment();
      return Status::Unavailable(
          keyed ? "task " + std::to_string(task) + " (this key's) is restoring here: its state is catching up with "
                  "what its previous owner had stored (/v1/status shows restore_until); retry shortly"
                : std::to_string(restoring.size()) + " tasks are restoring here, so this entity's events are not all "
                  "in yet (/v1/status shows restore_until); retry shortly");
    }
  }
  std::vector<std::pair<ShardId, EntityState>> read;
  if (coverage == Coverage::kNothing) {
    // An item's events come from every task: gather its shards from the
    // members owning them, or refuse.
    if (!routing_ || !elsewhere_task) {
      metrics_->LookupsRefused("partial_entity").Increment();
      return Status::Unavailable(WhyRefused(holdings, keyed));
    }
    if (Status st = GatherFromCluster(kind, id, holdings.total, &read); !st.ok()) return st;
  } else {
    std::vector<ShardId> candidates = store_->ShardsThatMayHold(kind, id);
    if (coverage == Coverage::kHeldTasks) pipeline_->KeepServingShards(&candidates);
    if (Status st = ReadShards(kind, id, std::move(candidates), &read); !st.ok()) return st;
  }
  std::vector<const EntityState*> shards;
  for (const auto& [shard, state] : read) shards.push_back(&state);
  if (shards.empty() && coverage == Coverage::kHeldTasks && !HasNoEvents(kind, id, holdings.total)) {
    const int task = holdings.total > 0 ? KafkaDefaultPartition(id, holdings.total) : -1;
    if (elsewhere_task && task >= 0) *elsewhere_task = task;  // the caller asks its owner, or counts the refusal
    else metrics_->LookupsRefused("not_held").Increment();
    return Status::Unavailable(WhyRefused(holdings, keyed, task));
  }
  int64_t as_of_ms;
  if (requested_as_of) {
    as_of_ms = *requested_as_of;
    if (auto inexact = engine_.CheckAsOf(kind, shards, as_of_ms))
      return Status::InvalidArgument(std::string(EntityKindName(kind)) + " " + std::string(id) + ": " + inexact->why);
  } else {
    // Now, or the entity's latest event if it is stamped later (events up to
    // ingest.max_future_skew ahead are accepted): never before an event the
    // answer includes.
    as_of_ms = std::max(clock_->NowMs(), FeatureEngine::LatestEvent(shards));
  }
  std::vector<FeatureValue> values = engine_.Read(kind, shards, as_of_ms);
  const auto& defs = features_->features(kind);
  out->append("{\"entity\":\"");
  out->append(EntityKindName(kind));
  out->append("\",\"id\":");
  AppendJsonString(out, id);
  out->append(shards.empty() ? ",\"found\":false" : ",\"found\":true");
  out->append(",\"as_of_ms\":");
  AppendJsonInt(out, as_of_ms);
  out->append(",\"features\":{");
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out->push_back(',');
    AppendJsonString(out, defs[i].name);
    out->push_back(':');
    const FeatureValue& v = values[i];
    switch (v.type) {
      case FeatureValue::Type::kNull: out->append("null"); break;
      case FeatureValue::Type::kInt: AppendJsonInt(out, v.i); break;
      case FeatureValue::Type::kDouble: AppendJsonDouble(out, v.d); break;
      case FeatureValue::Type::kStrings:
        out->push_back('[');
        for (size_t j = 0; j < v.strings.size(); ++j) {
          if (j) out->push_back(',');
          AppendJsonString(out, v.strings[j]);
        }
        out->push_back(']');
        break;
    }
  }
  out->push_back('}');
  if (with_tiles) AppendTiles(kind, shards, as_of_ms, out);
  out->push_back('}');
  return Status::Ok();
}

// A user with no state in the tasks held here has no events anywhere when
// its task is one of them and every event seen has followed the routing
// rule; otherwise this instance cannot tell it from a user held elsewhere.
bool FeatureApi::HasNoEvents(EntityKind kind, std::string_view id, int32_t total_tasks) const {
  if (total_tasks <= 0) return false;
  // Users are where their producers put them; re-keyed items always where the rule says.
  if (kind == EntityKind::kUser && pipeline_->OffPartitionEvents() > 0) return false;
  const int32_t task = KafkaDefaultPartition(id, total_tasks);
  for (const auto& [shard, serving_task] : pipeline_->ServingShards())
    if (serving_task == task) return true;
  return false;
}

// Each shard is read once: from the cache where it holds the entity, else
// from the store, so no event is counted twice. Empty states (a new entity
// whose first event is not applied yet) are left out.
Status FeatureApi::ReadShards(EntityKind kind, std::string_view id, std::vector<ShardId> candidates,
                              std::vector<std::pair<ShardId, EntityState>>* out) {
  if (live_ && !candidates.empty()) live_->CopyCached(kind, id, candidates, out);
  std::erase_if(*out, [&](const auto& cached) {
    std::erase(candidates, cached.first);
    return cached.second.empty();
  });
  std::vector<std::string> raw;
  if (Status st = store_->GetShards(kind, id, candidates, &raw); !st.ok()) return st;
  for (const std::string& bytes : raw) {
    EntityState state;
    if (Status st = DecodeEntityState(*features_, kind, bytes, &state); !st.ok()) return st;
    out->emplace_back(ShardId{0}, std::move(state));  // which shard does not matter past here
  }
  return Status::Ok();
}

namespace {
void AppendHex(std::string* out, std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (unsigned char c : bytes) {
    out->push_back(kDigits[c >> 4]);
    out->push_back(kDigits[c & 15]);
  }
}
bool ParseHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2) return false;
  auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi << 4 | lo));
  }
  return true;
}
}  // namespace

HttpResponse FeatureApi::ServedShards(EntityKind kind, const std::string& id) {
  std::map<ShardId, int32_t> serving;
  std::set<int32_t> tasks;
  for (const auto& [shard, task] : pipeline_->ServingShards()) {
    serving[shard] = task;
    tasks.insert(task);
  }
  std::vector<ShardId> candidates = store_->ShardsThatMayHold(kind, id);
  std::erase_if(candidates, [&](ShardId s) { return !serving.count(s); });
  // Read one shard at a time, so each state keeps its task.
  std::string body = "{\"tasks\":[";
  bool first = true;
  for (int32_t t : tasks) {
    if (!first) body.push_back(',');
    first = false;
    AppendJsonInt(&body, t);
  }
  body += "],\"shards\":[";
  first = true;
  for (ShardId shard : candidates) {
    std::vector<std::pair<ShardId, EntityState>> read;
    if (Status st = ReadShards(kind, id, {shard}, &read); !st.ok()) return LookupError(st);
    for (const auto& [_, state] : read) {
      std::string bytes;
      EncodeEntityState(*features_, kind, state, &bytes);
      body += first ? "{\"task\":" : ",{\"task\":";
      first = false;
      AppendJsonInt(&body, serving[shard]);
      body += ",\"state\":\"";
      AppendHex(&body, bytes);
      body += "\"}";
    }
  }
  body += "]}";
  return {200, "application/json", std::move(body)};
}

Status FeatureApi::GatherFromCluster(EntityKind kind, std::string_view id, int32_t total_tasks,
                                     std::vector<std::pair<ShardId, EntityState>>* out) {
  if (total_tasks <= 0) return Status::Unavailable("the group's task count is not known yet; retry shortly");
  std::set<int32_t> local_tasks;
  std::vector<ShardId> local_shards;
  for (const auto& [shard, task] : pipeline_->ServingShards()) {
    local_tasks.insert(task);
    local_shards.push_back(shard);
  }
  std::map<std::string, std::set<int32_t>> by_owner;  // the tasks each other member is asked for
  for (int32_t t = 0; t < total_tasks; ++t) {
    if (local_tasks.count(t)) continue;
    const std::optional<std::string> owner = routing_->OwnerUrl(t);
    if (!owner) {
      metrics_->LookupsRefused("owner_unknown").Increment();
      return Status::Unavailable("no member of this cluster has announced task " + std::to_string(t) +
                                 ", which holds part of this entity's events, yet; retry shortly");
    }
    by_owner[*owner].insert(t);
  }
  const std::string target =
      "/v1/internal/shards/" + std::string(EntityKindName(kind)) + "/" + PercentEncode(id);
  std::vector<std::pair<std::string, std::future<Result<HttpAnswer>>>> asked;
  for (const auto& entry : by_owner) {
    const std::string& owner = entry.first;
    metrics_->LookupsForwarded().Increment();
    asked.emplace_back(owner, std::async(std::launch::async, [this, owner, target] {
                         return routing_->Send(owner, {"GET", target, "", {{kForwardedHeader, "1"}}});
                       }));
  }
  std::vector<ShardId> candidates = store_->ShardsThatMayHold(kind, id);
  std::erase_if(candidates, [&](ShardId s) { return std::find(local_shards.begin(), local_shards.end(), s) == local_shards.end(); });
  Status result = ReadShards(kind, id, std::move(candidates), out);
  for (auto& [owner, pending] : asked) {
    Result<HttpAnswer> answer = pending.get();  // every request is waited for
    if (!result.ok()) continue;
    if (!answer.ok()) {
      metrics_->LookupsRefused("owner_unreachable").Increment();
      result = Status::Unavailable(owner + ", which owns part of this entity's tasks, did not answer (" +
                                   answer.status().message() + "); retry shortly");
      continue;
    }
    const nlohmann::json j = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
    if (answer->status != 200 || j.is_discarded() || !j.contains("tasks") || !j.contains("shards")) {
      result = Status::Unavailable(owner + " answered " + std::to_string(answer->status) + " for this entity's shards");
      continue;
    }
    std::set<int32_t> served;
    for (const auto& t : j["tasks"]) served.insert(t.get<int32_t>());
    const std::set<int32_t>& wanted = by_owner[owner];
    for (int32_t t : wanted) {
      if (!served.count(t)) {
        result = Status::Unavailable("task " + std::to_string(t) + " is not served by " + owner +
                                     ", which the members topic names as its owner (it is restoring there, or moving); "
                                     "retry shortly");
        break;
      }
    }
    if (!result.ok()) continue;
    for (const auto& s : j["shards"]) {
      if (!wanted.count(s["task"].get<int32_t>())) continue;  // a task another member answers for
      std::string bytes;
      EntityState state;
      if (!ParseHex(s["state"].get<std::string>(), &bytes) || !DecodeEntityState(*features_, kind, bytes, &state).ok()) {
        result = Status::Unavailable(owner + " sent a state that does not decode");
        break;
      }
      if (!state.empty()) out->emplace_back(ShardId{0}, std::move(state));
    }
  }
  return result;
}

void FeatureApi::AppendTiles(EntityKind kind, const std::vector<const EntityState*>& shards, int64_t as_of_ms,
                             std::string* out) const {
  const auto& defs = features_->features(kind);
  out->append(",\"tiles\":{");
  bool first = true;
  for (size_t i = 0; i < defs.size(); ++i) {
    const SeriesSpec* tiled = engine_.TiledSeries(kind, i);
    if (tiled == nullptr) continue;
    const SeriesSpec& spec = *tiled;
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, defs[i].name);
    out->append(":{\"tile_ms\":");
    AppendJsonInt(out, spec.tile_ms);
    out->append(",\"window_ms\":");
    AppendJsonInt(out, defs[i].window_ms);
    out->append(",\"values\":[");
    bool first_tile = true;
    for (const auto& [start_ms, value] : engine_.ReadTiles(kind, shards, i, as_of_ms)) {
      out->append(first_tile ? "[" : ",[");
      first_tile = false;
      AppendJsonInt(out, start_ms);
      out->push_back(',');
      AppendJsonDouble(out, value);
      out->push_back(']');
    }
    out->append("]}");
  }
  out->push_back('}');
}

HttpResponse FeatureApi::Single(const HttpRequest& request, EntityKind kind, const std::string& id,
                                const std::string& query) {
  if (id.empty()) return JsonError(400, "empty id");
  if (id.size() > options_.max_id_bytes) return JsonError(400, "id longer than " + std::to_string(options_.max_id_bytes) + " bytes");
  std::optional<int64_t> as_of;
  if (auto param = QueryParam(query, "as_of_ms")) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(param->data(), param->data() + param->size(), v);
    if (ec != std::errc() || end != param->data() + param->size() || v <= 0)
      return JsonError(400, "as_of_ms must be a positive integer (epoch milliseconds)");
    as_of = v;
  }
  const auto tiles = QueryParam(query, "tiles");
  const bool with_tiles = tiles && (*tiles == "true" || *tiles == "1");
  HttpResponse res;
  int elsewhere = -1;
  const bool may_forward = routing_ && !request.forwarded;
  Status st = LookupJson(kind, id, as_of, &res.body, with_tiles, may_forward ? &elsewhere : nullptr);
  if (st.ok()) return res;
  if (elsewhere < 0) return LookupError(st);
  return AskOwner(elsewhere, Forwarded(request));
}

namespace {
HttpResponse Retry(HttpResponse r) {
  r.retry_after = "1";
  return r;
}

// A peer's answer, passed on as this instance's; a 503 keeps saying to retry.
HttpResponse Relayed(HttpAnswer answer) {
  HttpResponse r(answer.status, "application/json", std::move(answer.body));
  if (r.status == 503) r.retry_after = "1";
  return r;
}
}  // namespace

PeerRequest FeatureApi::Forwarded(const HttpRequest& request) {
  PeerRequest forward{"GET", request.target, "", {{kForwardedHeader, "1"}}};  // HEAD too: the answer's body is dropped here
  if (!request.authorization.empty()) forward.headers.emplace_back("Authorization", request.authorization);
  return forward;
}

HttpResponse FeatureApi::OwnerUnknown(int task, size_t lookups) {
  metrics_->LookupsRefused("owner_unknown").Increment(static_cast<double>(lookups));
  return Retry(JsonError(503, "no member of this cluster has announced task " + std::to_string(task) +
                                  " (the key's task under Kafka's default partitioner) yet: the group is moving it, "
                                  "or its owner runs without http.advertised_url; retry shortly"));
}

HttpResponse FeatureApi::AskOwner(int task, const PeerRequest& forward) {
  const std::optional<std::string> owner = routing_->OwnerUrl(task);
  if (!owner) return OwnerUnknown(task, 1);
  metrics_->LookupsForwarded().Increment();
  auto answer = routing_->Send(*owner, forward);
  if (!answer.ok()) {
    metrics_->LookupsRefused("owner_unreachable").Increment();
    return Retry(JsonError(503, "task " + std::to_string(task) + " is owned by " + *owner + ", which did not answer (" +
                                    answer.status().message() + "); the group gives its tasks to another member once "
                                    "its session times out: retry shortly"));
  }
  return Relayed(std::move(*answer));
}

HttpResponse FeatureApi::AskMonitoringOwner(const HttpRequest& request) {
  if (!routing_)
    return Retry(JsonError(503, "this instance does not monitor the models now: with kafka.monitor_changelog_topic "
                                "the one instance of the group that its election chose does (this one may still be "
                                "waiting for it). Without http.advertised_url (or --advertised-url) the instances "
                                "cannot ask each other: set it, or ask the one that monitors"));
  if (request.forwarded)  // asked by a member that took this one for the owner: no second hop
    return Retry(JsonError(503, "this instance does not monitor the models now; the group is moving the monitoring: "
                                "retry shortly"));
  const std::optional<std::string> owner = routing_->MonitoringOwnerUrl();
  if (!owner)
    return Retry(JsonError(503, "no instance of this group has announced that it monitors the models yet: the group "
                                "is choosing one; retry shortly"));
  auto answer = routing_->Send(*owner, Forwarded(request));
  if (!answer.ok())
    return Retry(JsonError(503, "the models are monitored by " + *owner + ", which did not answer (" +
                                    answer.status().message() + "); retry shortly"));
  return Relayed(std::move(*answer));
}

HttpResponse FeatureApi::Batch(const HttpRequest& request) {
  nlohmann::json req = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded() || !req.is_object()) return JsonError(400, "body must be a JSON object");
  EntityKind kind;
  if (!req.contains("entity") || !req["entity"].is_string() || !ParseEntity(req["entity"].get<std::string>(), &kind))
    return JsonError(400, "\"entity\" must be \"user\" or \"item\"");
  if (!req.contains("ids") || !req["ids"].is_array()) return JsonError(400, "\"ids\" must be an array of strings");
  const auto& ids = req["ids"];
  if (ids.size() > options_.max_batch_ids)
    return JsonError(400, "at most " + std::to_string(options_.max_batch_ids) + " ids per batch");
  std::optional<int64_t> as_of;
  if (req.contains("as_of_ms")) {
    if (!req["as_of_ms"].is_number_integer() || req["as_of_ms"].get<int64_t>() <= 0)
      return JsonError(400, "\"as_of_ms\" must be a positive integer");
    as_of = req["as_of_ms"].get<int64_t>();
  }
  const bool may_forward = routing_ && !request.forwarded;
  std::vector<std::string> results(ids.size());
  std::vector<std::pair<size_t, std::string>> elsewhere;  // (index, id) of ids another member owns
  std::vector<int> elsewhere_tasks;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_string() || ids[i].get_ref<const std::string&>().empty())
      return JsonError(400, "ids[" + std::to_string(i) + "] must be a non-empty string");
    const std::string& id = ids[i].get_ref<const std::string&>();
    if (id.size() > options_.max_id_bytes) return JsonError(400, "ids[" + std::to_string(i) + "] is too long");
    int task = -1;
    Status st = LookupJson(kind, id, as_of, &results[i], false, may_forward ? &task : nullptr);
    if (st.ok()) continue;
    if (task < 0) return LookupError(st);
    elsewhere.emplace_back(i, id);
    elsewhere_tasks.push_back(task);
  }
  if (!elsewhere.empty()) {
    if (auto failed = FanOut(req["entity"].get<std::string>(), elsewhere, elsewhere_tasks, as_of, &results))
      return *failed;
  }
  HttpResponse res;
  res.body = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) res.body.push_back(',');
    res.body += results[i];
  }
  res.body += "]}";
  return res;
}

std::optional<HttpResponse> FeatureApi::FanOut(const std::string& entity,
                                               const std::vector<std::pair<size_t, std::string>>& ids,
                                               const std::vector<int>& tasks, std::optional<int64_t> as_of,
                                               std::vector<std::string>* results) {
  // One sub-batch per owner, in request order within it.
  std::map<std::string, std::vector<size_t>> by_owner;  // owner URL -> positions in `ids`
  for (size_t k = 0; k < ids.size(); ++k) {
    const std::optional<std::string> owner = routing_->OwnerUrl(tasks[k]);
    if (!owner) return OwnerUnknown(tasks[k], ids.size());
    by_owner[*owner].push_back(k);
  }
  struct SubBatch {
    std::string owner;
    std::vector<size_t> positions;
    std::future<Result<HttpAnswer>> answer;
  };
  std::vector<SubBatch> sent;
  for (auto& [owner_url, positions] : by_owner) {
    const std::string owner = owner_url;  // a lambda cannot capture a structured binding (clang before 16)
    nlohmann::json body = {{"entity", entity}, {"ids", nlohmann::json::array()}};
    for (size_t k : positions) body["ids"].push_back(ids[k].second);
    if (as_of) body["as_of_ms"] = *as_of;
    PeerRequest forward{"POST", "/v1/features/batch", body.dump(), {{kForwardedHeader, "1"}}};
    metrics_->LookupsForwarded().Increment(static_cast<double>(positions.size()));
    sent.push_back({owner, positions, std::async(std::launch::async, [this, owner, forward = std::move(forward)] {
                      return routing_->Send(owner, forward);
                    })});
  }
  std::optional<HttpResponse> failed;
  for (SubBatch& b : sent) {
    Result<HttpAnswer> answer = b.answer.get();  // every future is waited for, failed or not
    if (failed) continue;
    if (!answer.ok()) {
      metrics_->LookupsRefused("owner_unreachable").Increment(static_cast<double>(b.positions.size()));
      failed = Retry(JsonError(503, b.owner + ", which owns " + std::to_string(b.positions.size()) +
                                        " of these ids, did not answer (" + answer.status().message() + "): retry shortly"));
      continue;
    }
    if (answer->status != 200) {
      failed = Relayed(std::move(*answer));
      continue;
    }
    const nlohmann::json j = nlohmann::json::parse(answer->body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("results") || !j["results"].is_array() || j["results"].size() != b.positions.size()) {
      failed = Retry(JsonError(503, b.owner + " answered a batch that does not match the ids it was sent"));
      continue;
    }
    for (size_t r = 0; r < b.positions.size(); ++r) (*results)[ids[b.positions[r]].first] = j["results"][r].dump();
  }
  return failed;
}

HttpResponse FeatureApi::Cluster() {
  if (!routing_)
    return JsonError(404, "this instance does not share lookups with a cluster: set http.advertised_url (or "
                          "--advertised-url) on every instance of the consumer group");
  return {200, "application/json", routing_->ClusterJson()};
}

HttpResponse FeatureApi::Status_() {
  IngestSnapshot snap = pipeline_->Snapshot();
  nlohmann::json j;
  j["version"] = options_.version;
  if (!options_.embedded_kafka_bootstrap.empty()) j["embedded_kafka_bootstrap"] = options_.embedded_kafka_bootstrap;
  j["assigned_partitions"] = nlohmann::json::array();
  for (const auto& p : snap.partitions) {
    nlohmann::json e = {{"topic", p.tp.topic}, {"partition", p.tp.partition}, {"committed_offset", p.committed_offset},
                        {"processed_offset", p.processed_offset}, {"high_watermark", p.high_watermark},
                        {"stream_time_ms", p.stream_time_ms}, {"consumed", p.consumed}};
    e["restore_until"] = p.restore_until == PartitionStatus::kRestoreToPartitionEnd   ? nlohmann::json("partition_end")
                         : p.restore_until == PartitionStatus::kRestoreFromChangelog ? nlohmann::json("changelog")
                         : p.restore_until >= 0                                      ? nlohmann::json(p.restore_until)
                                                                                     : nlohmann::json(nullptr);
    e["lag"] = p.high_watermark >= 0 && p.processed_offset >= 0 ? nlohmann::json(std::max<int64_t>(0, p.high_watermark - p.processed_offset))
                                                                : nlohmann::json(nullptr);
    j["assigned_partitions"].push_back(e);
  }
  const TaskHoldings tasks = pipeline_->Holdings();
  j["tasks"] = {{"held", tasks.held}, {"total", tasks.total > 0 ? nlohmann::json(tasks.total) : nlohmann::json(nullptr)}};
  j["consumed_total"] = snap.consumed_total;
  j["rejected_total"] = snap.rejected_total;
  j["late_dropped_total"] = snap.late_dropped_total;
  j["commits"] = snap.commits;
  j["last_error"] = snap.last_error;
  j["entities_estimate"] = store_->ApproximateEntityCount();
  auto [running, pending] = store_->CompactionBacklog();
  j["store"] = {{"disk_bytes", store_->DiskBytes()}, {"running_compactions", running}, {"pending_compaction_bytes", pending},
                {"shard_filters_complete", store_->ShardFiltersComplete()}};
  const WrittenBytes written = store_->Written();
  j["store"]["written_bytes"] = {{"wal", written.wal}, {"flush", written.flush}, {"compaction", written.compaction}};
  return {200, "application/json", j.dump()};
}

// The pages themselves are open: they hold no data. What they draw comes
// from /v1/monitoring with the same bearer token, which the page asks for.
// The policy keeps every request, script and style on featmond's origin.
HttpResponse FeatureApi::Page(const std::string& path) {
  const std::optional<ui::Asset> asset = ui::Find(path);
  if (!asset) return JsonError(404, "no page at " + path + "; the pages are /ui/, /ui/models/{model} and /ui/features");
  HttpResponse r(200, std::string(asset->content_type), std::string(asset->body));
  r.content_security_policy =
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; "
      "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
  return r;
}

HttpResponse FeatureApi::Ready() {
  std::string reason;
  // Ready means "can serve its committed state": a restarted instance serves
  // what it stored without waiting for the consumer group (after a crash the
  // group holds the dead member's partitions for its session timeout). Only
  // an instance that never had a partition waits for one.
  if (!pipeline_->has_assignment() && store_->Shards().empty()) reason = "no partitions assigned yet, and no stored state";
  else if (!pipeline_->healthy()) reason = "ingest: " + pipeline_->Snapshot().last_error;
  else if (std::string error = monitoring_ ? monitoring_->CommitError() : ""; !error.empty())
    reason = "monitoring: " + error;
  if (reason.empty()) return {200, "application/json", "{\"ready\":true}"};
  std::string body = "{\"ready\":false,\"reason\":";
  AppendJsonString(&body, reason);
  return {503, "application/json", body + "}"};
}

HttpResponse FeatureApi::MetricsText() {
  metrics_->StoreEntities().Set(static_cast<double>(store_->ApproximateEntityCount()));
  metrics_->StoreDiskBytes().Set(static_cast<double>(store_->DiskBytes()));
  const TaskHoldings tasks = pipeline_->Holdings();
  metrics_->TasksHeld().Set(tasks.held);
  metrics_->Tasks().Set(tasks.total);
  const WrittenBytes written = store_->Written();
  metrics_->SetStoreWrittenBytes("wal", written.wal);
  metrics_->SetStoreWrittenBytes("flush", written.flush);
  metrics_->SetStoreWrittenBytes("compaction", written.compaction);
  return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_->Serialize()};
}

}  // namespace featmon
