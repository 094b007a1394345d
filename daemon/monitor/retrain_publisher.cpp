#include "daemon/monitor/retrain_publisher.h"

#include "daemon/codec/retrain_codec.h"

namespace featmon {

Status RetrainPublisher::Publish(const drift::RetrainRequest& request) {
  if (webhooks_) webhooks_->Enqueue(RetrainRequestJson(request));
  return topic_->Produce(request.model, EncodeRetrainRequest(request));
}

}  // namespace featmon
