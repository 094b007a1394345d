#include "drift/maturity_queue.h"

#include <gtest/gtest.h>

#include <queue>
#include <random>
#include <tuple>

namespace featmon::drift {
namespace {

struct Entry {
  int64_t due_ms;
  int id;  // tells equal deadlines apart, so the order is total
  bool operator>(const Entry& o) const { return std::tie(due_ms, id) > std::tie(o.due_ms, o.id); }
  bool operator==(const Entry& o) const { return due_ms == o.due_ms && id == o.id; }
};

TEST(MaturityQueueTest, PopsInTheOrderOfAHeapWhateverThePushOrder) {
  // Mostly in order (a prediction stream), with entries moved earlier (a
  // click) and late ones mixed in, and pops interleaved.
  std::mt19937_64 rng(7);
  MaturityQueue<Entry> queue;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> reference;
  int64_t now = 1000;
  int id = 0, from_heap_side = 0;
  for (int step = 0; step < 20000; ++step) {
    now += static_cast<int64_t>(rng() % 3);
    const uint64_t r = rng() % 10;
    Entry e{r < 7 ? now + 500 : r < 9 ? now + static_cast<int64_t>(rng() % 500) : now - static_cast<int64_t>(rng() % 50),
            id++};
    from_heap_side += !reference.empty() && e.due_ms < now + 500;
    queue.Push(e);
    reference.push(e);
    ASSERT_EQ(queue.size(), reference.size());
    const int64_t watermark = now - static_cast<int64_t>(rng() % 100);
    while (!reference.empty() && reference.top().due_ms <= watermark) {
      ASSERT_FALSE(queue.empty());
      ASSERT_EQ(queue.top(), reference.top()) << "step " << step;
      ASSERT_EQ(queue.Pop(), reference.top());
      reference.pop();
    }
    ASSERT_TRUE(queue.empty() || queue.top().due_ms > watermark);
  }
  while (!reference.empty()) {
    ASSERT_EQ(queue.Pop(), reference.top());
    reference.pop();
  }
  EXPECT_TRUE(queue.empty());
  EXPECT_GT(from_heap_side, 1000);  // the out-of-order path was exercised
}

TEST(MaturityQueueTest, EqualEntriesComeOutWithTheirOwnOrderKept) {
  MaturityQueue<Entry> queue;
  queue.Push({10, 2});
  queue.Push({10, 1});  // less than the FIFO's back: to the heap
  queue.Push({10, 3});
  queue.Push({5, 0});
  EXPECT_EQ(queue.Pop(), (Entry{5, 0}));
  EXPECT_EQ(queue.Pop(), (Entry{10, 1}));
  EXPECT_EQ(queue.Pop(), (Entry{10, 2}));
  EXPECT_EQ(queue.Pop(), (Entry{10, 3}));
  EXPECT_TRUE(queue.empty());
}

}  // namespace
}  // namespace featmon::drift
