// Retrain requests out: protobuf to the retrain topic, keyed by model, and
// the same as JSON to every webhook (asynchronously, with retries).
#pragma once

#include "daemon/monitor/retrain_sink.h"
#include "daemon/http/webhook_notifier.h"
#include "daemon/kafka/kafka_client.h"

namespace featmon {

class RetrainPublisher final : public RetrainSink {
 public:
  // `webhooks` may be null (no webhooks configured).
  RetrainPublisher(KafkaTopicProducer* topic, WebhookNotifier* webhooks) : topic_(topic), webhooks_(webhooks) {}
  Status Publish(const drift::RetrainRequest& request) override;
  Status Flush(int timeout_ms) override { return topic_->Flush(timeout_ms); }

 private:
  KafkaTopicProducer* topic_;
  WebhookNotifier* webhooks_;
};

}  // namespace featmon
