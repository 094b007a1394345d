#include "daemon/monitor/monitoring_owner.h"

#include "daemon/kafka/changelog_topic.h"
#include "daemon/logging/log.h"

namespace featmon {

namespace {
constexpr int32_t kElectionPartition = 0;
}  // namespace

Result<std::unique_ptr<MonitoringOwner>> MonitoringOwner::Start(MonitoringOwnerOptions options, MonitoringSinks sinks) {
  std::unique_ptr<MonitoringOwner> m(new MonitoringOwner(std::move(options), sinks));
  KafkaClientOptions election = m->options_.kafka;
  election.group_id = m->options_.group_id + ".monitor-owner";
  election.topics = {m->options_.changelog_topic};
  election.topic_settings = {"kafka.monitor_changelog_topic"};
  auto consumer = KafkaConsumer::Create(election, m.get(), 1);
  if (!consumer.ok()) return consumer.status();
  if (Status st = (*consumer)->Subscribe(); !st.ok()) return st;
  m->election_ = std::move(*consumer);
  return m;
}

MonitoringOwner::~MonitoringOwner() { Stop(); }

Status MonitoringOwner::OnAssigned(const std::vector<TopicPartition>& partitions, std::vector<int64_t>* start_offsets) {
  for (size_t i = 0; i < partitions.size(); ++i) {
    (*start_offsets)[i] = kStartPaused;  // an election, not a read
    if (partitions[i].partition == kElectionPartition) elected_ = true;
  }
  if (elected_) Log(Component::kMonitor).info("the group {}.monitor-owner chose this instance to monitor the models",
                                              options_.group_id);
  return Status::Ok();
}

void MonitoringOwner::OnRevoked(const std::vector<TopicPartition>& partitions) {
  for (const TopicPartition& tp : partitions) {
    if (tp.partition != kElectionPartition || !elected_) continue;
    elected_ = false;
    // Before the partition goes: the next owner restores exactly this state.
    if (term_) EndTerm(/*commit=*/true);
    Log(Component::kMonitor).info("the group {}.monitor-owner moved the monitoring to another instance",
                                  options_.group_id);
  }
}

Status MonitoringOwner::BeginTerm() {
  const auto started = std::chrono::steady_clock::now();
  auto topic = ChangelogTopic::Open(options_.kafka, options_.changelog_topic);
  if (!topic.ok()) return topic.status();
  auto term = std::make_unique<Term>();
  auto changelog = std::make_unique<MonitorChangelog>(std::move(*topic), options_.owner, sinks_.store);
  term->changelog = changelog.get();
  term->pipeline = std::make_shared<MonitorPipeline>(options_.pipeline, sinks_.store, sinks_.dead_letters,
                                                     sinks_.retrain, sinks_.examples, sinks_.metrics, sinks_.clock);
  term->pipeline->set_changelog(std::move(changelog));
  if (Status st = term->pipeline->Load(); !st.ok()) return st;
  KafkaClientOptions data = options_.kafka;
  data.group_id = options_.group_id + ".monitor";  // where lag is committed, as without an owner
  // The label join needs a prediction and its click in one task.
  data.topics = {options_.pipeline.predictions_topic, options_.pipeline.clicks_topic};
  data.topic_settings = {"kafka.topics.predictions", "kafka.topics.clicks"};
  auto consumer = KafkaConsumer::Create(data, term->pipeline.get(), 1);
  if (!consumer.ok()) return consumer.status();
  term->consumer = std::move(*consumer);
  term->pipeline->set_source(term->consumer->worker_source(0));
  if (Status st = term->consumer->AssignAll(&term->partitions); !st.ok()) return st;
  {
    std::lock_guard lock(mu_);
    serving_ = term->pipeline;
  }
  term_ = std::move(term);
  owning_ = true;
  Log(Component::kMonitor).info("monitoring the group's models here, from the state restored from {} in {:.2f} s",
                                options_.changelog_topic,
                                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return Status::Ok();
}

void MonitoringOwner::EndTerm(bool commit) {
  owning_ = false;
  if (commit) {
    // As at a stop: the revoke's commit records the examples this one produced.
    Status st = term_->pipeline->Commit();
    if (!st.ok())
      Log(Component::kMonitor).error("the last monitoring commit before handing the monitoring over failed: {}; "
                                     "the next owner reads on from the one before",
                                     st.ToString());
    // Commits again, and takes the partitions' series (lag) off /metrics.
    term_->pipeline->OnRevoked(term_->partitions);
  }
  term_->pipeline->DropSeries();
  if (Status closed = term_->consumer->Close(); !closed.ok())
    Log(Component::kMonitor).warn("monitoring consumer: {}", closed.ToString());
  if (term_->consumer->abandoned()) close_abandoned_ = true;
  {
    std::lock_guard lock(mu_);
    serving_.reset();
  }
  term_.reset();
}

Status MonitoringOwner::RunOnce(int timeout_ms) {
  if (!election_) return Status::Unavailable("monitoring stopped");
  if (Status st = election_->ServeEvents(term_ ? 0 : timeout_ms); !st.ok()) return st;
  const auto now = std::chrono::steady_clock::now();
  if (elected_ && !term_ && now >= next_try_) {
    if (Status st = BeginTerm(); !st.ok()) {
      next_try_ = now + std::chrono::milliseconds(options_.retry_ms);
      return Status::Unavailable("beginning to monitor (tried again in " + std::to_string(options_.retry_ms / 1000) +
                                 " s): " + st.ToString());
    }
  }
  if (!term_) return Status::Ok();
  Status st = term_->consumer->ServeEvents(0);
  if (st.ok()) st = term_->pipeline->RunOnce(timeout_ms);
  if (term_->changelog->taken_over()) {
    Log(Component::kMonitor).warn("another instance has claimed the monitoring state in {}; this one stops "
                                  "monitoring until the group {}.monitor-owner gives it back",
                                  options_.changelog_topic, options_.group_id);
    EndTerm(/*commit=*/false);
    next_try_ = now + std::chrono::milliseconds(options_.retry_ms);
    return Status::Ok();
  }
  return st;
}

void MonitoringOwner::Stop() {
  if (term_) EndTerm(/*commit=*/true);
  if (!election_) return;
  if (Status closed = election_->Close(); !closed.ok())
    Log(Component::kMonitor).warn("monitoring election: {}", closed.ToString());
  if (election_->abandoned()) close_abandoned_ = true;
  election_.reset();
}

std::shared_ptr<MonitorPipeline> MonitoringOwner::pipeline() const {
  std::lock_guard lock(mu_);
  return serving_;
}

std::optional<std::string> MonitoringOwner::ModelReport(const std::string& model) const {
  auto p = pipeline();
  return p ? p->ModelReport(model) : std::nullopt;
}

std::string MonitoringOwner::AllReports() const {
  auto p = pipeline();
  return p ? p->AllReports() : std::string();  // not here: the API asks the owner
}

std::string MonitoringOwner::CommitError() const {
  auto p = pipeline();
  return p ? p->CommitError() : std::string();
}

}  // namespace featmon
