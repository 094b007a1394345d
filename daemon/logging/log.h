// Logging for featmond: one spdlog logger per component, sharing one sink,
// in either a human format or one JSON object per line for log collectors
// (Loki, Fluent Bit, Elasticsearch). The pure libraries never log.
#pragma once

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string_view>

#include "common/status.h"

namespace featmon {

enum class Component { kApp, kIngest, kMonitor, kKafka, kHttp, kWebhook, kCount };

// The logger of a component; its name is the "component" field of a JSON line.
spdlog::logger& Log(Component component);

enum class LogFormat {
  kText,  // [2026-11-21 10:00:00.123] [info] [ingest] message
  kJson,  // {"time":"2026-11-21T10:00:00.123Z","level":"info","component":"ingest","message":"..."}
};

// The formatter of a format. Either way one record is one line: the text
// format escapes control characters (\n, \r, \t, \xNN) and bytes that are
// not UTF-8 (\xNN) in the message, so bytes copied from a bad event cannot
// forge a log line; JSON escapes them as JSON does.
std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format);

// Parses "text" or "json".
Result<LogFormat> ParseLogFormat(std::string_view name);
// Parses trace, debug, info, warn, error, critical, off.
Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name);

// Applies a format and a level to every component. Call before threads start.
void ConfigureLogging(LogFormat format, spdlog::level::level_enum level);

}  // namespace featmon
