// libFuzzer target for HTTP request handling: the real server (Beast's parser
// with featmond's header, body and connection limits) and the real routes
// (features, batch, monitoring, status, probes, metrics, bearer token) over a
// RocksDB store in a temporary directory. Each input is sent as the bytes of
// one connection; the server must answer or close, and never crash. Inputs
// may hold several pipelined requests.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "common/clock.h"
#include "daemon/api/feature_api.h"
#include "daemon/config/config.h"
#include "daemon/http/http_server.h"
#include "daemon/metrics/metrics.h"
#include "daemon/store/rocksdb_store.h"

namespace {

class IdleIngest final : public featmon::IngestStatus {
 public:
  featmon::IngestSnapshot Snapshot() const override { return {}; }
  bool has_assignment() const override { return true; }
  bool healthy() const override { return true; }
  featmon::TaskHoldings Holdings() const override { return {}; }
  std::vector<int32_t> RestoringTasks() const override { return {}; }
  std::vector<std::pair<featmon::ShardId, int32_t>> ServingShards() const override { return {}; }
  uint64_t OffPartitionEvents() const override { return 0; }
  void KeepServingShards(std::vector<featmon::ShardId>*) const override {}
};

struct Daemon {
  Daemon() {
    std::string dir = (std::filesystem::temp_directory_path() / "featmon-http-fuzz-XXXXXX").string();
    data_dir = mkdtemp(dir.data());
    auto config = featmon::LoadDefaultConfig();
    if (!config.ok()) std::abort();
    auto compiled = featmon::FeatureSet::Compile(config->features);
    if (!compiled.ok()) std::abort();
    features = std::make_unique<featmon::FeatureSet>(std::move(*compiled));
    featmon::RocksDbStoreOptions store_options;
    store_options.path = data_dir + "/data";
    store_options.block_cache_bytes = 8 << 20;
    store_options.min_free_bytes = 0;
    auto opened = featmon::RocksDbStore::Open(store_options);
    if (!opened.ok()) std::abort();
    store = std::move(*opened);
    featmon::FeatureApiOptions api_options;
    api_options.version = "fuzz";
    api_options.bearer_token = "fuzz-token-0123456789";
    api = std::make_unique<featmon::FeatureApi>(api_options, features.get(), store.get(), &ingest, &metrics,
                                                &featmon::SystemClock::Instance());
    featmon::HttpServerOptions http;
    http.port = 0;
    http.threads = 1;
    http.max_body_bytes = 64 << 10;
    http.idle_timeout_ms = 1000;
    auto started = featmon::HttpServer::Start(http, [this](const featmon::HttpRequest& r) { return api->Handle(r); });
    if (!started.ok()) std::abort();
    server = std::move(*started);
  }
  ~Daemon() {
    server.reset();
    api.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(data_dir, ec);
  }
  std::string data_dir;
  IdleIngest ingest;
  featmon::Metrics metrics{"fuzz"};
  std::unique_ptr<featmon::FeatureSet> features;
  std::unique_ptr<featmon::RocksDbStore> store;
  std::unique_ptr<featmon::FeatureApi> api;
  std::unique_ptr<featmon::HttpServer> server;
};

// A connection to the server from the next of 250 loopback source addresses.
// Thousands of connections a second, each leaving a TIME_WAIT behind for a
// minute, exhaust one address's 28,000 ephemeral ports within a few minutes
// (connect fails with EADDRNOTAVAIL); 250 addresses have 250 times as many.
int Connect(uint16_t port) {
  static uint32_t next_source = 0;
  for (int attempt = 0;; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) std::abort();
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1 + next_source++ % 250);  // 127.0.0.2 to 127.0.0.251
    // The port is then chosen at connect(), against the whole 4-tuple.
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, reinterpret_cast<sockaddr*>(&source), sizeof(source)) == 0 &&
        connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
      return fd;
    const int error = errno;
    close(fd);
    // The machine's ports, not the server: wait for TIME_WAITs to expire.
    // libFuzzer's timer signal can interrupt a connect: try again.
    if ((error == EADDRNOTAVAIL || error == EADDRINUSE || error == EINTR) && attempt < 1000) {
      if (error != EINTR) usleep(10'000);
      continue;
    }
    std::fprintf(stderr, "http_fuzz: cannot connect to the server: %s\n", std::strerror(error));
    std::abort();  // the server died or stopped listening
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Daemon daemon;
  const int fd = Connect(daemon.server->port());
  timeval timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  for (size_t sent = 0; sent < size;) {
    const ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close early (a bad request line)
    sent += static_cast<size_t>(n);
  }
  shutdown(fd, SHUT_WR);
  char buf[16384];
  while (recv(fd, buf, sizeof(buf), 0) > 0) {
  }
  close(fd);
  return 0;
}
