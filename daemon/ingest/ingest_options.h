// What an IngestPipeline can be told. The config file's `ingest:` section
// holds one of these (see daemon/config); the composition root sets the
// topics from `kafka:` and each worker's share of the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/codec/decoder_options.h"

namespace featmon {

struct IngestPipelineOptions {
  std::string views_topic = "views";      // topic of ViewEvent. Default: views
  std::string clicks_topic = "clicks";    // topic of ClickEvent. Default: clicks
  // kafka.item_repartition_topic: item state from the events re-keyed by
  // item through it (IngestPipeline::set_repartition). Default: none
  std::string items_topic;
  // State + offsets write period. Lookups read the cache (read_uncommitted),
  // so it bounds what a crash replays, not freshness; fewer, larger commits
  // write each hot entity less often (200ms: half the ingest rate and 1.3x
  // the bytes written of 1s, bench/run.sh). Default: 1s
  int64_t commit_interval_ms = 1000;
  size_t cache_max_entities = 1'000'000;  // states this pipeline keeps after a commit. Default: 1,000,000
  size_t cache_max_bytes = 512u << 20;    // and their bytes in memory (an estimate). Default: 512MB
  size_t poll_batch = 10'000;             // messages per poll. Default: 10,000
  DecoderOptions decoder;                 // validation limits
  // Whether lookups read this pipeline's cache (http.isolation:
  // read_uncommitted), so an event is visible once applied, or only the
  // store (read_committed), once committed. It decides what
  // featmon_read_to_visible_seconds measures. Default: true
  bool lookups_read_cache = true;
  // With a changelog (kafka.changelog_topic): how long a revoked task's
  // local state is kept (a task back within this restores only the
  // changelog's tail) before it is deleted; 0 keeps it. Without a changelog
  // it is always kept: it is what spares a task that comes back a replay
  // of its inputs. Default: 10m (Kafka Streams' state.cleanup.delay.ms)
  int64_t state_cleanup_delay_ms = 600'000;
  // Changelog records a task restoring in the background applies per loop,
  // between batches of the worker's other tasks (not a config key: tests
  // make restores take many steps). Default: 20,000 (about 70 ms here)
  size_t restore_records_per_step = 20'000;
};

}  // namespace featmon
