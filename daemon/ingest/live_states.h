// What lookups read under http.isolation: read_uncommitted: the entity
// states the ingest pipelines hold in memory, which include events applied
// since the last commit. Like Kafka Streams' interactive queries, which read
// the caching store rather than the changelog, this makes an event visible
// within milliseconds of being read instead of after the next commit.
//
// A shard found here is read only here, never also from the store, so no
// event is counted twice: a cached state is the stored one plus what came
// after it. What a crash takes back is what was applied but not committed;
// featmond replays it from the stored offsets on restart, so an answer may
// go back to the committed value until the replay passes it again.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "daemon/store/entity_key.h"
#include "features/entity_state.h"
#include "features/event.h"

namespace featmon {

class LiveStates {
 public:
  virtual ~LiveStates() = default;
  // Appends a copy of the entity's state in each of `shards` whose state is
  // held in memory now.
  virtual void CopyCached(EntityKind kind, std::string_view id, const std::vector<ShardId>& shards,
                          std::vector<std::pair<ShardId, EntityState>>* out) const = 0;
};

}  // namespace featmon
