// Healthchecks as Docker runs them: the image's HEALTHCHECK or the --health-*
// flags (Config.Healthcheck), probed by exec'ing the test in the running
// container every interval, with Docker's rules for the start period, the
// failing streak, timeouts and the last five results kept in State.Health.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::runtimed {

struct HealthConfig {
  // The argv to exec: CMD's as is, CMD-SHELL's under the container's shell.
  std::vector<std::string> command;
  std::chrono::nanoseconds interval = std::chrono::seconds(30);
  std::chrono::nanoseconds timeout = std::chrono::seconds(30);
  std::chrono::nanoseconds start_period{0};
  std::chrono::nanoseconds start_interval = std::chrono::seconds(5);
  int retries = 3;
};

// Config.Healthcheck (already merged with the image's) read as Docker reads
// it: nullopt when there is none or its test is ["NONE"]; InvalidArgument
// for a test that is not CMD, CMD-SHELL or NONE.
absl::StatusOr<std::optional<HealthConfig>> ParseHealthcheck(const Json& config);

// One probe's outcome, as exec reports it.
struct ProbeOutcome {
  int exit_code = 0;
  std::string output;
};

// Runs a probe in a container; a probe that outlives `timeout` is reported
// as DeadlineExceeded.
class HealthProber {
 public:
  virtual ~HealthProber() = default;
  virtual absl::StatusOr<ProbeOutcome> Probe(const std::string& container_id,
                                             const std::vector<std::string>& command,
                                             std::chrono::nanoseconds timeout) = 0;
};

// Where results go: the container's record (and, later, events).
class HealthSink {
 public:
  virtual ~HealthSink() = default;
  virtual void HealthChanged(const std::string& container_id, const runtime::v1::Health& health,
                             bool status_changed) = 0;
};

// The state machine of one container's health, without threads or clocks.
class HealthTracker {
 public:
  // started_at: when the container started (nanoseconds since the epoch).
  HealthTracker(HealthConfig config, int64_t started_at);

  // Records a probe; returns whether the status changed.
  bool Record(runtime::v1::HealthProbe probe);
  // How long to wait before the next probe: the start interval while the
  // container is starting and inside its start period, else the interval.
  std::chrono::nanoseconds NextDelay(int64_t now) const;

  const runtime::v1::Health& health() const { return health_; }
  const HealthConfig& config() const { return config_; }

 private:
  bool InStartPeriod(int64_t at) const;

  HealthConfig config_;
  int64_t started_at_;
  runtime::v1::Health health_;
};

// Docker keeps this much of a probe's output, and this many probes.
inline constexpr size_t kHealthOutputLimit = 4096;
inline constexpr int kHealthLogEntries = 5;

// A thread per monitored container, probing until Stop.
class HealthMonitor {
 public:
  HealthMonitor(HealthProber* prober, HealthSink* sink) : prober_(prober), sink_(sink) {}
  ~HealthMonitor();

  // Starts (or restarts) monitoring; the status starts as "starting".
  void Start(const std::string& container_id, HealthConfig config, int64_t started_at);
  // Stops monitoring; returns once the container's probe thread has ended.
  void Stop(const std::string& container_id);

 private:
  struct Watch {
    std::thread thread;
    bool stop = false;
  };
  void Run(std::string container_id, HealthTracker tracker, std::shared_ptr<Watch> watch);

  HealthProber* const prober_;
  HealthSink* const sink_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Watch>> watches_;
};

}  // namespace berth::runtimed
