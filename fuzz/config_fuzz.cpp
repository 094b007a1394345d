// libFuzzer target for the config loader: any bytes as featmon.yaml. A config
// is either loaded or refused with an error that names the source; nothing
// else (no exception, no crash) is allowed.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "daemon/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto config = featmon::LoadConfigString(yaml, "fuzz.yaml");
  if (!config.ok() && config.status().message().find("fuzz.yaml") == std::string::npos) std::abort();
  return 0;
}
