// The ingest benchmark's reference: a plain librdkafka consumer that only
// reads the same topics from the same broker (assign from the beginning,
// batch consumption, nothing done per message) and reports messages/s from
// the first message to the last.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: plain_consumer BROKERS PARTITIONS EXPECTED TOPIC...\n");
    return 2;
  }
  const std::string brokers = argv[1];
  const int partitions = std::atoi(argv[2]);
  const long expected = std::atol(argv[3]);
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof(err));
  rd_kafka_conf_set(conf, "group.id", "plain-reference", err, sizeof(err));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
  rd_kafka_conf_set(conf, "queued.min.messages", "200000", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions * (argc - 4));
  for (int t = 4; t < argc; ++t)
    for (int p = 0; p < partitions; ++p) rd_kafka_topic_partition_list_add(list, argv[t], p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_queue_t* q = rd_kafka_queue_get_consumer(rk);
  std::vector<rd_kafka_message_t*> batch(10000);
  long n = 0, bytes = 0;
  auto first = std::chrono::steady_clock::now();
  const auto deadline = first + std::chrono::seconds(120);
  while (n < expected && std::chrono::steady_clock::now() < deadline) {
    ssize_t got = rd_kafka_consume_batch_queue(q, 100, batch.data(), batch.size());
    for (ssize_t i = 0; i < got; ++i) {
      if (!batch[i]->err) {
        if (n == 0) first = std::chrono::steady_clock::now();
        ++n;
        bytes += static_cast<long>(batch[i]->len);
      }
      rd_kafka_message_destroy(batch[i]);
    }
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - first).count();
  std::printf("plain_read_messages=%ld seconds=%.3f rate=%.0f bytes=%ld\n", n, s, n / s, bytes);
  rd_kafka_queue_destroy(q);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return n == expected ? 0 : 1;
}
