#include "runtimed/daemon/health.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "runtimed/daemon/container_config.h"

namespace berth::runtimed {
namespace {

constexpr char kStarting[] = "starting";
constexpr char kHealthy[] = "healthy";
constexpr char kUnhealthy[] = "unhealthy";

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

// Go's time.Duration.String for what healthcheck timeouts look like:
// "30s", "1.5s", "500ms", "1m30s".
std::string GoDuration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns < 1000000000) return absl::StrCat(ns / 1000000, "ms");
  int64_t minutes = ns / 60000000000;
  double seconds = static_cast<double>(ns % 60000000000) / 1e9;
  std::string secs = absl::StrFormat("%g", seconds);
  if (minutes == 0) return secs + "s";
  if (minutes < 60) return absl::StrCat(minutes, "m", secs, "s");
  return absl::StrCat(minutes / 60, "h", minutes % 60, "m", secs, "s");
}

std::chrono::nanoseconds DurationOr(const Json& check, const char* key,
                                    std::chrono::nanoseconds fallback) {
  int64_t value = JsonInt(check, key);
  return value > 0 ? std::chrono::nanoseconds(value) : fallback;
}

}  // namespace

absl::StatusOr<std::optional<HealthConfig>> ParseHealthcheck(const Json& config) {
  if (!config.is_object() || !config.contains("Healthcheck") ||
      !config["Healthcheck"].is_object()) {
    return std::optional<HealthConfig>();
  }
  const Json& check = config["Healthcheck"];
  std::vector<std::string> test = StringList(check.value("Test", Json()));
  if (test.empty() || test[0] == "NONE") return std::optional<HealthConfig>();
  HealthConfig parsed;
  if (test[0] == "CMD") {
    parsed.command.assign(test.begin() + 1, test.end());
  } else if (test[0] == "CMD-SHELL") {
    std::vector<std::string> shell = StringList(config.value("Shell", Json()));
    if (shell.empty()) shell = {"/bin/sh", "-c"};
    parsed.command = shell;
    std::string joined;
    for (size_t i = 1; i < test.size(); ++i) absl::StrAppend(&joined, i > 1 ? " " : "", test[i]);
    parsed.command.push_back(joined);
  } else {
    return absl::InvalidArgumentError("unknown Healthcheck type '" + test[0] + "'");
  }
  if (parsed.command.empty()) return std::optional<HealthConfig>();
  parsed.interval = DurationOr(check, "Interval", parsed.interval);
  parsed.timeout = DurationOr(check, "Timeout", parsed.timeout);
  parsed.start_period = DurationOr(check, "StartPeriod", parsed.start_period);
  parsed.start_interval = DurationOr(check, "StartInterval", parsed.start_interval);
  if (int64_t retries = JsonInt(check, "Retries"); retries > 0) {
    parsed.retries = static_cast<int>(retries);
  }
  return std::optional<HealthConfig>(std::move(parsed));
}

HealthTracker::HealthTracker(HealthConfig config, int64_t started_at)
    : config_(std::move(config)), started_at_(started_at) {
  health_.set_status(kStarting);
}

bool HealthTracker::InStartPeriod(int64_t at) const {
  return at - started_at_ < config_.start_period.count();
}

bool HealthTracker::Record(runtime::v1::HealthProbe probe) {
  const std::string before = health_.status();
  if (probe.output().size() > kHealthOutputLimit) {
    probe.mutable_output()->resize(kHealthOutputLimit);
  }
  if (probe.exit_code() == 0) {
    health_.set_failing_streak(0);
    health_.set_status(kHealthy);
  } else if (!(health_.status() == kStarting && InStartPeriod(probe.start()))) {
    // Failures inside the start period of a container that has never been
    // healthy do not count.
    health_.set_failing_streak(health_.failing_streak() + 1);
    if (health_.failing_streak() >= config_.retries) health_.set_status(kUnhealthy);
  }
  *health_.add_log() = std::move(probe);
  if (health_.log_size() > kHealthLogEntries) {
    health_.mutable_log()->DeleteSubrange(0, health_.log_size() - kHealthLogEntries);
  }
  return health_.status() != before;
}

std::chrono::nanoseconds HealthTracker::NextDelay(int64_t now) const {
  if (health_.status() == kStarting && InStartPeriod(now)) return config_.start_interval;
  return config_.interval;
}

HealthMonitor::~HealthMonitor() {
  std::map<std::string, std::shared_ptr<Watch>> watches;
  {
    std::lock_guard<std::mutex> lock(mu_);
    watches.swap(watches_);
    for (auto& [id, watch] : watches) watch->stop = true;
  }
  cv_.notify_all();
  for (auto& [id, watch] : watches) {
    if (watch->thread.joinable()) watch->thread.join();
  }
}

void HealthMonitor::Start(const std::string& container_id, HealthConfig config,
                          int64_t started_at) {
  Stop(container_id);
  auto watch = std::make_shared<Watch>();
  HealthTracker tracker(std::move(config), started_at);
  sink_->HealthChanged(container_id, tracker.health(), /*status_changed=*/true);
  std::lock_guard<std::mutex> lock(mu_);
  watch->thread = std::thread(&HealthMonitor::Run, this, container_id, std::move(tracker), watch);
  watches_[container_id] = watch;
}

void HealthMonitor::Stop(const std::string& container_id) {
  std::shared_ptr<Watch> watch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = watches_.find(container_id);
    if (it == watches_.end()) return;
    watch = it->second;
    watch->stop = true;
    watches_.erase(it);
  }
  cv_.notify_all();
  if (watch->thread.joinable() && watch->thread.get_id() != std::this_thread::get_id()) {
    watch->thread.join();
  } else if (watch->thread.joinable()) {
    watch->thread.detach();
  }
}

void HealthMonitor::Run(std::string container_id, HealthTracker tracker,
                        std::shared_ptr<Watch> watch) {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, tracker.NextDelay(NowNanos()), [&] { return watch->stop; })) return;
    }
    runtime::v1::HealthProbe probe;
    probe.set_start(NowNanos());
    absl::StatusOr<ProbeOutcome> outcome =
        prober_->Probe(container_id, tracker.config().command, tracker.config().timeout);
    probe.set_end(NowNanos());
    if (outcome.ok()) {
      probe.set_exit_code(outcome->exit_code);
      probe.set_output(outcome->output);
    } else if (outcome.status().code() == absl::StatusCode::kDeadlineExceeded) {
      probe.set_exit_code(-1);
      probe.set_output(absl::StrCat("Health check exceeded timeout (",
                                    GoDuration(tracker.config().timeout), ")"));
    } else {
      // Docker records a probe that could not run as a failure with its
      // error as output (e.g. the executable is missing).
      probe.set_exit_code(-1);
      probe.set_output(std::string(outcome.status().message()));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (watch->stop) return;
    }
    bool changed = tracker.Record(std::move(probe));
    sink_->HealthChanged(container_id, tracker.health(), changed);
  }
}

}  // namespace berth::runtimed
