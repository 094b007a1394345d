#include "daemon/store/entity_merge_operator.h"

#include <string_view>
#include <vector>

#include "daemon/store/entity_key.h"
#include "features/entity_state.h"

namespace featmon {

bool EntityMergeOperator::FullMergeV2(const MergeOperationInput& merge_in, MergeOperationOutput* merge_out) const {
  const auto parts = ParseEntityKey(std::string_view(merge_in.key.data(), merge_in.key.size()));
  if (!parts) {
    EncodeUnmergeable("not an entity key", &merge_out->new_value);
    return true;
  }
  std::vector<std::string_view> operands;
  operands.reserve(merge_in.operand_list.size());
  for (const rocksdb::Slice& op : merge_in.operand_list) operands.emplace_back(op.data(), op.size());
  std::string_view base;
  if (merge_in.existing_value) base = std::string_view(merge_in.existing_value->data(), merge_in.existing_value->size());
  Status st = MergeEntityValues(*features_, parts->kind, merge_in.existing_value ? &base : nullptr, operands,
                                &merge_out->new_value);
  if (!st.ok()) EncodeUnmergeable(st.message(), &merge_out->new_value);
  return true;  // a failed read would hold the entity's events forever; the marker sends it to the quarantine
}

}  // namespace featmon
