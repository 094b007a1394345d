#include "daemon/systemd/service_notify.h"

#include <systemd/sd-daemon.h>

#include <string>

namespace featmon {

namespace {
// A status line must not break the newline-separated protocol.
std::string StatusLine(std::string_view status) {
  std::string line = "STATUS=";
  for (char c : status) line.push_back(c == '\n' ? ' ' : c);
  return line;
}
// Errors are ignored on purpose: a daemon must run the same without a
// service manager, and there is nobody to tell that the channel is broken.
void Send(const std::string& state) { (void)sd_notify(0, state.c_str()); }
}  // namespace

void NotifyReady(std::string_view status) { Send("READY=1\n" + StatusLine(status)); }
void NotifyStopping(std::string_view status) { Send("STOPPING=1\n" + StatusLine(status)); }
void NotifyWatchdog() { Send("WATCHDOG=1"); }
void NotifyStatus(std::string_view status) { Send(StatusLine(status)); }

int64_t WatchdogTimeoutUs() {
  uint64_t usec = 0;
  return sd_watchdog_enabled(0, &usec) > 0 ? static_cast<int64_t>(usec) : 0;
}

}  // namespace featmon
