// One record, one line: what the log formats make of hostile messages.
#include "daemon/logging/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace featmon {
namespace {

std::string Format(LogFormat format, std::string_view payload) {
  auto formatter = MakeLogFormatter(format);
  spdlog::details::log_msg msg("ingest", spdlog::level::warn, spdlog::string_view_t(payload.data(), payload.size()));
  spdlog::memory_buf_t out;
  formatter->format(msg, out);
  return std::string(out.data(), out.size());
}

// bf86bbb's text format wrote a decode error's payload bytes as they were: a
// newline in a bad event started a line that looked like featmond's own.
TEST(LogTest, TheTextFormatEscapesControlCharactersAndBytesThatAreNotUtf8) {
  const std::string line =
      Format(LogFormat::kText, "rejected: json: bad\n[2026-12-01 00:00:00.000] [info] [app] stopped cleanly\r\t\x1b[31m\xff ok é");
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find("[warning] [ingest] rejected: json: bad\\n[2026-12-01 00:00:00.000] [info] [app] stopped cleanly"
                      "\\r\\t\\x1b[31m\\xff ok é"),
            std::string::npos)
      << line;
}

TEST(LogTest, TheJsonFormatIsOneValidObjectPerLine) {
  const std::string line = Format(LogFormat::kJson, "a\nb\xff");
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1);
  auto j = nlohmann::json::parse(line, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << line;
  EXPECT_EQ(j["component"], "ingest");
  EXPECT_EQ(j["level"], "warning");
}

}  // namespace
}  // namespace featmon
