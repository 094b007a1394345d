// RocksDB's side of entity deltas: folds the deltas a commit writes (RocksDB
// merge operands, features/entity_state.h) into the stored full state, at
// read time and in compactions, so readers only ever see full states.
//
// A value that cannot be merged (a corrupt base or delta) becomes a marker
// that DecodeEntityState reports as corruption: the ingest pipeline then
// keeps it aside in the quarantine and starts the entity afresh, as it does
// for any undecodable state, instead of failing every read of the key.
//
// Thread-safety: stateless; RocksDB calls it from any thread.
#pragma once

#include <rocksdb/merge_operator.h>

#include "features/feature_spec.h"

namespace featmon {

class EntityMergeOperator final : public rocksdb::MergeOperator {
 public:
  explicit EntityMergeOperator(const FeatureSet* features) : features_(features) {}
  bool FullMergeV2(const MergeOperationInput& merge_in, MergeOperationOutput* merge_out) const override;
  const char* Name() const override { return "featmon.EntityMergeOperator"; }

 private:
  const FeatureSet* features_;
};

}  // namespace featmon
