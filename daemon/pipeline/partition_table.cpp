#include "daemon/pipeline/partition_table.h"

namespace featmon {

Result<bool> LoadCheckpoint(StateStore* store, const TopicPartition& stored_as, PartitionCheckpoint* cp) {
  auto stored = store->LoadCheckpoint(stored_as);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return false;
  cp->next_offset = cp->committed_offset = (*stored)->next_offset;
  cp->stream_time_ms = (*stored)->stream_time_ms;
  return true;
}

}  // namespace featmon
