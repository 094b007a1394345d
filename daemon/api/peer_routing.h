// What the HTTP API needs to answer a lookup whose key another instance of
// its consumer group owns: where the owner is, a way to ask it, and what to
// show on GET /v1/cluster. daemon/membership/cluster_membership.h implements
// it from the members topic; without it (no http.advertised_url) such
// lookups get 503 naming the key's task.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "daemon/http/http_client.h"
#include "daemon/http/peer_client.h"

namespace featmon {

class PeerRouting {
 public:
  virtual ~PeerRouting() = default;
  // The advertised URL of the member that owns `task`; nullopt when no
  // member claims it, or when this instance does (then it is asked nowhere).
  virtual std::optional<std::string> OwnerUrl(int32_t task) const = 0;
  // The advertised URL of the member that runs the group's monitoring;
  // nullopt when none has announced it, or when this instance does.
  virtual std::optional<std::string> MonitoringOwnerUrl() const { return std::nullopt; }
  // Sends a request to another member; Unavailable when it does not answer.
  virtual Result<HttpAnswer> Send(const std::string& url, const PeerRequest& request) = 0;
  // GET /v1/cluster: this member, every member, its tasks, the unclaimed ones.
  virtual std::string ClusterJson() const = 0;
};

}  // namespace featmon
