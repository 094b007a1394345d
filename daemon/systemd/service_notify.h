// The service manager's side channel (sd_notify(3)) for a Type=notify unit:
// readiness, shutdown and watchdog keep-alives. Outside systemd (no
// NOTIFY_SOCKET in the environment) every call does nothing.
#pragma once

#include <cstdint>
#include <string_view>

namespace featmon {

// READY=1 with a one-line status for `systemctl status`.
void NotifyReady(std::string_view status);
// STOPPING=1: shutdown has begun (the final commit can take a while).
void NotifyStopping(std::string_view status);
// WATCHDOG=1: the main loop checked the daemon's loops and they all came round.
void NotifyWatchdog();
// STATUS=...: a new one-line status.
void NotifyStatus(std::string_view status);

// The unit's WatchdogSec in microseconds, or 0 when the watchdog is off
// (WATCHDOG_USEC unset, or meant for another process).
int64_t WatchdogTimeoutUs();

}  // namespace featmon
