// Kafka security settings reach librdkafka from featmond's config. The mock
// broker speaks neither SASL nor TLS, so each test shows the setting at work
// in librdkafka's own words, which featmond logs: SASL/PLAIN asks for a SASL
// handshake, SSL attempts a TLS handshake, and a CA file that does not exist
// stops start-up with a message naming it. Meanwhile featmond stays up and
// unready, and the SASL password never appears in its log or /v1/status.
// Against a broker that requires them, these are the settings to use; no
// such broker runs here.
#include "tests/daemon/temp_dir.h"
#include "tests/integration/harness.h"

namespace featmon::testing {
namespace {

constexpr const char* kPassword = "pw-9f3c1e7a-never-logged";

std::string KafkaYaml(const std::string& properties) {
  return "kafka:\n  group_id: featmond-security\n  properties:\n" + properties;
}

bool LogSays(const DaemonProcess& daemon, const std::string& text) {
  return WaitFor([&] { return ReadFile(daemon.log()).find(text) != std::string::npos; }, std::chrono::seconds(30));
}

TEST(KafkaSecurityTest, SaslSettingsReachLibrdkafkaAndThePasswordStaysSecret) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 1);
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port,
                       KafkaYaml("    security.protocol: SASL_PLAINTEXT\n    sasl.mechanism: PLAIN\n"
                                 "    sasl.username: featmon\n    sasl.password: " + std::string(kPassword) + "\n"));
  EXPECT_TRUE(LogSays(daemon, "required by mechanism PLAIN")) << ReadFile(daemon.log());
  EXPECT_TRUE(WaitFor([&] { return Http(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)))
      << ReadFile(daemon.log());
  EXPECT_EQ(Http(port, "GET", "/readyz").status, 503) << "ready without a broker it can talk to";
  EXPECT_EQ(ReadFile(daemon.log()).find(kPassword), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/v1/status").body.find(kPassword), std::string::npos);
  daemon.proc().Signal(SIGTERM);
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(daemon.log());
}

TEST(KafkaSecurityTest, TlsSettingsReachLibrdkafka) {
  TempDir dir;
  BrokerProcess broker(dir.path(), 1);
  const uint16_t port = FreePort();
  DaemonProcess daemon(dir.path(), broker.bootstrap(), port,
                       KafkaYaml("    security.protocol: SSL\n    enable.ssl.certificate.verification: \"false\"\n"));
  EXPECT_TRUE(LogSays(daemon, "SSL handshake failed")) << ReadFile(daemon.log());
  EXPECT_TRUE(WaitFor([&] { return Http(port, "GET", "/healthz").status == 200; }, std::chrono::seconds(20)))
      << ReadFile(daemon.log());
  EXPECT_EQ(Http(port, "GET", "/readyz").status, 503);
  daemon.proc().Signal(SIGTERM);
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(30)), 0) << ReadFile(daemon.log());
}

TEST(KafkaSecurityTest, AMissingCaFileStopsStartUpNamingIt) {
  TempDir dir;
  DaemonProcess daemon(dir.path(), "127.0.0.1:1", FreePort(),
                       KafkaYaml("    security.protocol: SSL\n    ssl.ca.location: " + dir.sub("missing-ca.pem") + "\n"));
  EXPECT_EQ(daemon.proc().Wait(std::chrono::seconds(20)), 1) << ReadFile(daemon.log());
  const std::string log = ReadFile(daemon.log());
  EXPECT_NE(log.find("ssl.ca.location"), std::string::npos) << log;
  EXPECT_NE(log.find("missing-ca.pem"), std::string::npos) << log;
}

}  // namespace
}  // namespace featmon::testing
