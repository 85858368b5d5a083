// Time and status text exactly as Docker prints them.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::apiserver {

inline constexpr char kZeroTime[] = "0001-01-01T00:00:00Z";

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped
// ("2024-05-01T10:00:00.5Z"); 0 is Go's zero time "0001-01-01T00:00:00Z".
std::string FormatRfc3339Nano(int64_t unix_nanos);

// The fixed-width form used by `docker logs -t`: "2006-01-02T15:04:05.000000000Z".
std::string FormatRfc3339NanoFixed(int64_t unix_nanos);

// go-units HumanDuration: "Less than a second", "3 seconds", "About a minute",
// "2 hours", "3 days", ...
std::string HumanDuration(int64_t nanos);

// Docker's State.String() for `docker ps`: "Up 3 seconds", "Up 2 hours (Paused)",
// "Exited (0) 2 minutes ago", "Created", "Restarting (1) 5 seconds ago", ...
struct StateForText {
  std::string status;
  int exit_code = 0;
  int64_t started_at = 0;   // unix nanos, 0 for never
  int64_t finished_at = 0;  // unix nanos, 0 for never
  std::string health;       // State.Health.Status, "" without a healthcheck
};
std::string StateText(const StateForText& state, int64_t now_nanos);

// Parses Docker's `since`/`until` values: unix seconds with an optional
// fraction ("1700000000", "1700000000.123456789"); "" is 0.
absl::StatusOr<int64_t> ParseUnixTimestamp(absl::string_view value);

int64_t NowNanos();

}  // namespace berth::apiserver
