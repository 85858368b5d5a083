#include "apiserver/timefmt.h"

#include <time.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::apiserver {
namespace {

constexpr int64_t kSecond = 1000000000LL;

std::string FormatUtc(int64_t unix_nanos, bool fixed) {
  if (unix_nanos == 0) return kZeroTime;
  int64_t secs = unix_nanos / kSecond;
  int64_t frac = unix_nanos % kSecond;
  if (frac < 0) {
    frac += kSecond;
    secs -= 1;
  }
  time_t t = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&t, &tm);
  std::string out = absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string digits = absl::StrFormat("%09d", frac);
  if (!fixed) {
    while (!digits.empty() && digits.back() == '0') digits.pop_back();
  }
  if (!digits.empty()) absl::StrAppend(&out, ".", digits);
  out.push_back('Z');
  return out;
}

}  // namespace

std::string FormatRfc3339Nano(int64_t unix_nanos) { return FormatUtc(unix_nanos, false); }

std::string FormatRfc3339NanoFixed(int64_t unix_nanos) { return FormatUtc(unix_nanos, true); }

std::string HumanDuration(int64_t nanos) {
  int64_t seconds = nanos / kSecond;
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrCat(seconds, " seconds");
  int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrCat(minutes, " minutes");
  int64_t hours = static_cast<int64_t>(static_cast<double>(nanos) / (3600.0 * kSecond) + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrCat(hours, " hours");
  if (hours < 24 * 7 * 2) return absl::StrCat(hours / 24, " days");
  if (hours < 24 * 30 * 2) return absl::StrCat(hours / 24 / 7, " weeks");
  if (hours < 24 * 365 * 2) return absl::StrCat(hours / 24 / 30, " months");
  return absl::StrCat(seconds / 3600 / 24 / 365, " years");
}

std::string StateText(const StateForText& state, int64_t now_nanos) {
  const std::string& s = state.status;
  if (s == "running" || s == "paused") {
    std::string text = absl::StrCat("Up ", HumanDuration(now_nanos - state.started_at));
    if (s == "paused") {
      absl::StrAppend(&text, " (Paused)");
    } else if (state.health == "starting") {
      absl::StrAppend(&text, " (health: starting)");
    } else if (!state.health.empty()) {
      absl::StrAppend(&text, " (", state.health, ")");
    }
    return text;
  }
  if (s == "restarting") {
    return absl::StrCat("Restarting (", state.exit_code, ") ",
                        HumanDuration(now_nanos - state.finished_at), " ago");
  }
  if (s == "removing") return "Removal In Progress";
  if (s == "dead") return "Dead";
  if (state.started_at == 0) return "Created";
  if (state.finished_at == 0) return "";
  return absl::StrCat("Exited (", state.exit_code, ") ",
                      HumanDuration(now_nanos - state.finished_at), " ago");
}

absl::StatusOr<int64_t> ParseUnixTimestamp(absl::string_view value) {
  if (value.empty()) return 0;
  absl::string_view whole = value, fraction;
  size_t dot = value.find('.');
  if (dot != absl::string_view::npos) {
    whole = value.substr(0, dot);
    fraction = value.substr(dot + 1);
  }
  int64_t secs = 0;
  if (!absl::SimpleAtoi(whole, &secs) || fraction.size() > 9) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid value for time: \"", value, "\" (expected unix seconds)"));
  }
  int64_t nanos = 0;
  if (!fraction.empty()) {
    std::string padded(fraction);
    padded.resize(9, '0');
    if (!absl::SimpleAtoi(padded, &nanos)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value for time: \"", value, "\" (expected unix seconds)"));
    }
  }
  return secs * kSecond + nanos;
}

int64_t NowNanos() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

}  // namespace berth::apiserver
