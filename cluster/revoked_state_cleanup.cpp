#include "cluster/revoked_state_cleanup.h"

namespace featmon::cluster {

void RevokedStateCleanup::Revoked(int32_t task, int64_t now_ms) {
  if (delay_ms_ <= 0) return;
  revoked_at_.emplace(task, now_ms);
}

std::vector<int32_t> RevokedStateCleanup::TakeDue(int64_t now_ms) {
  std::vector<int32_t> due;
  for (auto it = revoked_at_.begin(); it != revoked_at_.end();) {
    if (now_ms - it->second >= delay_ms_) {
      due.push_back(it->first);
      it = revoked_at_.erase(it);
    } else {
      ++it;
    }
  }
  return due;
}

}  // namespace featmon::cluster
