#include "daemon/logging/log.h"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>

#include <array>
#include <chrono>
#include <ctime>
#include <memory>

#include "common/clock.h"
#include "common/utf8.h"

namespace featmon {

namespace {

constexpr std::array<const char*, static_cast<size_t>(Component::kCount)> kComponentNames = {
    "app", "ingest", "monitor", "kafka", "http", "webhook"};

// One line per record; nlohmann escapes the message (and replaces invalid
// UTF-8, which an id copied from a bad event may carry).
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json line;
    line["time"] = Rfc3339(msg.time);
    line["level"] = std::string(spdlog::level::to_string_view(msg.level).data(),
                                spdlog::level::to_string_view(msg.level).size());
    line["component"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    line["message"] = std::string(msg.payload.data(), msg.payload.size());
    line["thread"] = msg.thread_id;
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  static std::string Rfc3339(spdlog::log_clock::time_point t) {
    return FormatUtcMs(std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
  }
};

// The message of a text line, escaped (see MakeLogFormatter).
class EscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static const char* kHex = "0123456789abcdef";
    const std::string_view s(msg.payload.data(), msg.payload.size());
    auto hex = [&](unsigned char c) {
      const char esc[4] = {'\\', 'x', kHex[c >> 4], kHex[c & 15]};
      dest.append(esc, esc + 4);
    };
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c >= 0x80) {
        const size_t n = Utf8SequenceAt(s, i);
        if (n == 0) {
          hex(c);
        } else {
          dest.append(s.data() + i, s.data() + i + n);
          i += n - 1;
        }
      } else if (c == '\n') {
        dest.append(std::string_view("\\n"));
      } else if (c == '\r') {
        dest.append(std::string_view("\\r"));
      } else if (c == '\t') {
        dest.append(std::string_view("\\t"));
      } else if (c < 0x20 || c == 0x7f) {
        hex(c);
      } else {
        dest.push_back(static_cast<char>(c));
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<EscapedMessage>(); }
};

// Component loggers share the default logger's sinks and are registered, so
// spdlog::set_formatter and set_level reach all of them.
struct Loggers {
  std::array<std::shared_ptr<spdlog::logger>, kComponentNames.size()> by_component;
  Loggers() {
    const auto& sinks = spdlog::default_logger()->sinks();
    for (size_t i = 0; i < kComponentNames.size(); ++i) {
      by_component[i] = std::make_shared<spdlog::logger>(kComponentNames[i], sinks.begin(), sinks.end());
      spdlog::initialize_logger(by_component[i]);
    }
  }
};

Loggers& AllLoggers() {
  static Loggers loggers;
  return loggers;
}

}  // namespace

spdlog::logger& Log(Component component) { return *AllLoggers().by_component[static_cast<size_t>(component)]; }

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return Status::InvalidArgument("unknown log format '" + std::string(name) + "' (expected text or json)");
}

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view name) {
  for (int l = spdlog::level::trace; l < spdlog::level::n_levels; ++l) {
    const auto level = static_cast<spdlog::level::level_enum>(l);
    const auto text = spdlog::level::to_string_view(level);
    if (name == std::string_view(text.data(), text.size())) return level;
  }
  if (name == "warning") return spdlog::level::warn;
  return Status::InvalidArgument("unknown log level '" + std::string(name) +
                                 "' (expected trace, debug, info, warn, error, critical or off)");
}

std::unique_ptr<spdlog::formatter> MakeLogFormatter(LogFormat format) {
  if (format == LogFormat::kJson) return std::make_unique<JsonFormatter>();
  auto text = std::make_unique<spdlog::pattern_formatter>();
  text->add_flag<EscapedMessage>('*').set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%l] [%n] %*");
  return text;
}

void ConfigureLogging(LogFormat format, spdlog::level::level_enum level) {
  AllLoggers();
  spdlog::set_formatter(MakeLogFormatter(format));
  spdlog::set_level(level);
}

}  // namespace featmon
