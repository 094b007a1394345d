// A min-queue for deadlines that mostly arrive in order: a pushed entry that
// is not less than the newest in-order one joins a FIFO; any other (a click
// that moved a label's maturity earlier, a prediction read late) joins a
// min-heap. The smallest entry is the smaller of the two fronts, so entries
// come out in the same order a single heap would give, while the common
// case (predictions in time order, each due one attribution window later)
// costs a push_back and a pop_front instead of log2(n) moves of entries that
// are scattered in memory.
//
//   MaturityQueue<Due> q;
//   q.Push(d);
//   while (!q.empty() && q.top().due_ms <= watermark) { Due d = q.Pop(); ... }
//
// T needs operator>; equal entries may come out in either order.
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <vector>

namespace featmon::drift {

template <typename T>
class MaturityQueue {
 public:
  void Push(T entry) {
    if (in_order_.empty() || !(in_order_.back() > entry)) {
      in_order_.push_back(std::move(entry));
    } else {
      heap_.push_back(std::move(entry));
      std::push_heap(heap_.begin(), heap_.end(), std::greater<T>());
    }
  }

  bool empty() const { return in_order_.empty() && heap_.empty(); }
  size_t size() const { return in_order_.size() + heap_.size(); }

  // The smallest entry. Not empty().
  const T& top() const { return FromHeap() ? heap_.front() : in_order_.front(); }

  // Removes and returns the smallest entry. Not empty().
  T Pop() {
    if (FromHeap()) {
      std::pop_heap(heap_.begin(), heap_.end(), std::greater<T>());
      T entry = std::move(heap_.back());
      heap_.pop_back();
      return entry;
    }
    T entry = std::move(in_order_.front());
    in_order_.pop_front();
    return entry;
  }

 private:
  bool FromHeap() const { return in_order_.empty() || (!heap_.empty() && in_order_.front() > heap_.front()); }

  std::deque<T> in_order_;  // non-decreasing
  std::vector<T> heap_;     // a min-heap (std::push_heap with greater)
};

}  // namespace featmon::drift
