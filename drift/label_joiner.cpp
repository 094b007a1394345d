#include "drift/label_joiner.h"

#include <algorithm>

#include "common/byte_codec.h"

namespace featmon::drift {

std::string JoinKeyByRequest(std::string_view request_id, std::string_view item_id) {
  std::string k = "r|";
  k.append(request_id).append("|").append(item_id);
  return k;
}
std::string JoinKeyByUser(std::string_view user_id, std::string_view item_id) {
  std::string k = "u|";
  k.append(user_id).append("|").append(item_id);
  return k;
}

template <typename PendingMap>
void BasicLabelJoiner<PendingMap>::Schedule(const std::string& key, const PendingLabel& p) {
  due_.Push({DueOf(p), p.ts_ms, key});
}

template <typename PendingMap>
bool BasicLabelJoiner<PendingMap>::RemoveWaitingClick(const std::string& key, int64_t ts_ms, const std::string* partner_of) {
  auto c = clicks_.find(key);
  if (c == clicks_.end()) return false;
  auto& list = c->second;
  auto it = std::find_if(list.begin(), list.end(), [&](const WaitingClick& w) {
    return w.ts_ms == ts_ms && (!partner_of || w.partner == *partner_of);
  });
  if (it == list.end()) return false;
  list.erase(it);
  if (auto e = click_expiry_.find({ts_ms, key}); e != click_expiry_.end()) click_expiry_.erase(e);
  if (list.empty()) clicks_.erase(c);
  MarkDirty('c', key);
  return true;
}

template <typename PendingMap>
bool BasicLabelJoiner<PendingMap>::AddPrediction(const std::string& key, PendingLabel p, int64_t* matched_click_ms) {
  if (matched_click_ms) *matched_click_ms = -1;
  if (pending_count_ >= max_pending_) return false;
  // A click that came first?
  auto c = clicks_.find(key);
  if (c != clicks_.end()) {
    const auto& waiting = c->second;
    auto it = std::find_if(waiting.begin(), waiting.end(),
                           [&](const WaitingClick& w) { return w.ts_ms >= p.ts_ms && w.ts_ms <= p.ts_ms + window_ms_; });
    if (it != waiting.end()) {
      const WaitingClick taken = *it;
      p.click_ts_ms = taken.ts_ms;
      if (matched_click_ms) *matched_click_ms = taken.ts_ms;
      if (!taken.partner.empty()) RemoveWaitingClick(taken.partner, taken.ts_ms, &key);
      RemoveWaitingClick(key, taken.ts_ms, &taken.partner);
    }
  }
  Schedule(key, p);
  pending_[key].push_back(std::move(p));
  ++pending_count_;
  MarkDirty('p', key);
  return true;
}

template <typename PendingMap>
std::optional<PendingLabel> BasicLabelJoiner<PendingMap>::AddClick(const std::vector<std::string>& keys, int64_t click_ts_ms) {
  for (const std::string& key : keys) {
    auto it = pending_.find(key);
    if (it == pending_.end()) continue;
    // Last touch: the latest unlabelled prediction at or before the click, within the window.
    PendingLabel* best = nullptr;
    for (PendingLabel& p : it->second)
      if (p.click_ts_ms < 0 && p.ts_ms <= click_ts_ms && click_ts_ms <= p.ts_ms + window_ms_ &&
          (!best || p.ts_ms > best->ts_ms))
        best = &p;
    if (!best) continue;
    best->click_ts_ms = click_ts_ms;  // its deadline entry is now stale
    Schedule(key, *best);
    MarkDirty('p', key);
    return *best;
  }
  const size_t wait_keys = std::min<size_t>(keys.size(), 2);
  for (size_t i = 0; i < wait_keys; ++i) {
    clicks_[keys[i]].push_back({click_ts_ms, wait_keys == 2 ? keys[1 - i] : std::string()});
    click_expiry_.emplace(click_ts_ms, keys[i]);
    MarkDirty('c', keys[i]);
  }
  return std::nullopt;
}

template <typename PendingMap>
std::vector<MaturedLabel> BasicLabelJoiner<PendingMap>::Advance(int64_t watermark_ms) {
  std::vector<MaturedLabel> out;
  while (!due_.empty() && due_.top().due_ms <= watermark_ms) {
    const Due d = due_.Pop();
    auto it = pending_.find(d.key);
    if (it == pending_.end()) continue;
    auto& list = it->second;
    auto p = std::find_if(list.begin(), list.end(), [&](const PendingLabel& x) { return x.ts_ms == d.prediction_ts_ms; });
    if (p == list.end() || DueOf(*p) != d.due_ms) continue;  // stale entry
    out.push_back({std::move(p->model), std::move(p->model_version), p->score, p->click_ts_ms >= 0, p->ts_ms,
                   p->click_ts_ms, p->tag, std::move(p->payload)});  // p is erased next
    list.erase(p);
    --pending_count_;
    if (list.empty()) pending_.erase(it);
    MarkDirty('p', d.key);
  }
  // Waiting clicks older than the watermark can no longer meet a prediction.
  while (!click_expiry_.empty() && click_expiry_.begin()->first < watermark_ms) {
    auto [ts, key] = *click_expiry_.begin();
    if (!RemoveWaitingClick(key, ts, nullptr)) click_expiry_.erase(click_expiry_.begin());
  }
  return out;
}

template <typename PendingMap>
std::optional<std::string> BasicLabelJoiner<PendingMap>::Encode(const std::string& stored_key) const {
  std::string out;
  std::string key = stored_key.substr(1);
  if (stored_key[0] == 'p') {
    auto it = pending_.find(key);
    if (it == pending_.end()) return std::nullopt;
    // A leading 0 marks this format, with payloads (the older one, a count
    // then the labels, never stored an empty list).
    PutVarint(&out, 0);
    PutVarint(&out, it->second.size());
    for (const PendingLabel& p : it->second) {
      PutVarint(&out, p.model.size());
      out += p.model;
      PutVarint(&out, p.model_version.size());
      out += p.model_version;
      PutFixed(&out, p.score);
      PutSigned(&out, p.ts_ms);
      PutSigned(&out, p.click_ts_ms);
      PutVarint(&out, p.payload.size());
      out += p.payload;
    }
  } else {
    auto it = clicks_.find(key);
    if (it == clicks_.end()) return std::nullopt;
    // A leading 0 marks this format (the older one, a count then the times,
    // never stored an empty list).
    PutVarint(&out, 0);
    PutVarint(&out, it->second.size());
    for (const WaitingClick& w : it->second) {
      PutSigned(&out, w.ts_ms);
      PutVarint(&out, w.partner.size());
      out += w.partner;
    }
  }
  return out;
}

template <typename PendingMap>
Status BasicLabelJoiner<PendingMap>::Restore(std::string_view stored_key, std::string_view value) {
  if (stored_key.empty()) return Status::Corruption("empty label key");
  std::string key(stored_key.substr(1));
  ByteReader r(value);
  uint64_t n = 0;
  if (!r.ReadVarint(&n) || n > value.size()) return Status::Corruption("label entry " + key);
  if (stored_key[0] == 'p') {
    const bool with_payloads = n == 0;
    if (with_payloads && (!r.ReadVarint(&n) || n > value.size())) return Status::Corruption("pending labels " + key);
    for (uint64_t i = 0; i < n; ++i) {
      PendingLabel p;
      std::string_view model, version, payload;
      if (!r.ReadLengthPrefixed(&model) || !r.ReadLengthPrefixed(&version) || !r.ReadFixed(&p.score) ||
          !r.ReadSigned(&p.ts_ms) || !r.ReadSigned(&p.click_ts_ms) || (with_payloads && !r.ReadLengthPrefixed(&payload)))
        return Status::Corruption("pending label " + key);
      p.model = model;
      p.model_version = version;
      p.payload = payload;
      Schedule(key, p);
      pending_[key].push_back(std::move(p));
      ++pending_count_;
    }
  } else if (stored_key[0] == 'c') {
    const bool with_partners = n == 0;
    if (with_partners && (!r.ReadVarint(&n) || n > value.size())) return Status::Corruption("waiting clicks " + key);
    for (uint64_t i = 0; i < n; ++i) {
      WaitingClick w;
      std::string_view partner;
      if (!r.ReadSigned(&w.ts_ms) || (with_partners && !r.ReadLengthPrefixed(&partner)))
        return Status::Corruption("waiting click " + key);
      w.partner = partner;
      click_expiry_.emplace(w.ts_ms, key);
      clicks_[key].push_back(std::move(w));
    }
  } else {
    return Status::Corruption("unknown label key kind");
  }
  return r.done() ? Status::Ok() : Status::Corruption("label entry trailing bytes " + key);
}

template class BasicLabelJoiner<NodePendingMap>;
template class BasicLabelJoiner<FlatPendingMap>;

}  // namespace featmon::drift
