#include "runtimed/daemon/health.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <deque>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth::runtimed {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int64_t kSecond = 1000000000;

runtime::v1::HealthProbe Probe(int64_t start, int exit_code, std::string output = "") {
  runtime::v1::HealthProbe probe;
  probe.set_start(start);
  probe.set_end(start + 1);
  probe.set_exit_code(exit_code);
  probe.set_output(std::move(output));
  return probe;
}

TEST_CASE("Config.Healthcheck is read as Docker reads it") {
  auto parse = [](const char* text) { return ParseHealthcheck(Json::parse(text)); };
  auto cmd = parse(R"({"Healthcheck":{"Test":["CMD","curl","-f","http://x"],
      "Interval":2000000000,"Timeout":1000000000,"StartPeriod":5000000000,"Retries":2}})");
  REQUIRE(cmd.ok());
  REQUIRE(cmd->has_value());
  CHECK((*cmd)->command == std::vector<std::string>{"curl", "-f", "http://x"});
  CHECK((*cmd)->interval == seconds(2));
  CHECK((*cmd)->timeout == seconds(1));
  CHECK((*cmd)->start_period == seconds(5));
  CHECK((*cmd)->start_interval == seconds(5));
  CHECK((*cmd)->retries == 2);

  auto shell = parse(R"({"Healthcheck":{"Test":["CMD-SHELL","test -f /ok"]}})");
  REQUIRE(shell.ok());
  CHECK((*shell)->command == std::vector<std::string>{"/bin/sh", "-c", "test -f /ok"});
  CHECK((*shell)->interval == seconds(30));
  CHECK((*shell)->retries == 3);
  auto custom_shell =
      parse(R"({"Shell":["/bin/ash","-ec"],"Healthcheck":{"Test":["CMD-SHELL","true"]}})");
  CHECK((*custom_shell)->command == std::vector<std::string>{"/bin/ash", "-ec", "true"});

  CHECK_FALSE(parse(R"({"Healthcheck":{"Test":["NONE"]}})")->has_value());
  CHECK_FALSE(parse(R"({"Healthcheck":{"Interval":1}})")->has_value());
  CHECK_FALSE(parse(R"({})")->has_value());
  CHECK(parse(R"({"Healthcheck":{"Test":["BOGUS"]}})").status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the status follows Docker's rules") {
  HealthConfig config;
  config.retries = 2;
  config.start_period = seconds(10);
  HealthTracker tracker(config, /*started_at=*/0);
  CHECK(tracker.health().status() == "starting");
  // Failures inside the start period do not count.
  CHECK_FALSE(tracker.Record(Probe(1 * kSecond, 1)));
  CHECK_FALSE(tracker.Record(Probe(2 * kSecond, 1)));
  CHECK(tracker.health().failing_streak() == 0);
  CHECK(tracker.health().status() == "starting");
  // After it they do, and `retries` of them make it unhealthy.
  CHECK_FALSE(tracker.Record(Probe(11 * kSecond, 1)));
  CHECK(tracker.health().failing_streak() == 1);
  CHECK(tracker.Record(Probe(12 * kSecond, 2)));
  CHECK(tracker.health().status() == "unhealthy");
  // One success is enough to be healthy again.
  CHECK(tracker.Record(Probe(13 * kSecond, 0)));
  CHECK(tracker.health().status() == "healthy");
  CHECK(tracker.health().failing_streak() == 0);
  // A failure of a healthy container counts even inside the start period.
  HealthTracker early(config, 0);
  CHECK(early.Record(Probe(1 * kSecond, 0)));
  early.Record(Probe(2 * kSecond, 1));
  CHECK(early.health().failing_streak() == 1);
  CHECK(early.health().status() == "healthy");
}

TEST_CASE("five probes are kept, each with at most 4096 bytes of output") {
  HealthTracker tracker(HealthConfig{}, 0);
  for (int i = 0; i < 7; ++i) tracker.Record(Probe(i, 0, std::string(5000, 'x')));
  REQUIRE(tracker.health().log_size() == 5);
  CHECK(tracker.health().log(0).start() == 2);
  CHECK(tracker.health().log(4).output().size() == 4096);
}

TEST_CASE("the start interval applies only while starting inside the start period") {
  HealthConfig config;
  config.interval = seconds(30);
  config.start_interval = seconds(1);
  config.start_period = seconds(10);
  HealthTracker tracker(config, 0);
  CHECK(tracker.NextDelay(5 * kSecond) == seconds(1));
  CHECK(tracker.NextDelay(11 * kSecond) == seconds(30));
  tracker.Record(Probe(1, 0));
  CHECK(tracker.NextDelay(5 * kSecond) == seconds(30));
}

class ScriptedProber : public HealthProber {
 public:
  absl::StatusOr<ProbeOutcome> Probe(const std::string&, const std::vector<std::string>& command,
                                     std::chrono::nanoseconds) override {
    std::lock_guard<std::mutex> lock(mu);
    commands.push_back(command);
    if (results.empty()) return ProbeOutcome{0, "ok"};
    absl::StatusOr<ProbeOutcome> next = results.front();
    results.pop_front();
    return next;
  }
  std::mutex mu;
  std::deque<absl::StatusOr<ProbeOutcome>> results;
  std::vector<std::vector<std::string>> commands;
};

class RecordingSink : public HealthSink {
 public:
  void HealthChanged(const std::string& id, const runtime::v1::Health& health,
                     bool status_changed) override {
    std::lock_guard<std::mutex> lock(mu);
    last[id] = health;
    if (status_changed) statuses.push_back(health.status());
  }
  std::vector<std::string> Statuses() {
    std::lock_guard<std::mutex> lock(mu);
    return statuses;
  }
  runtime::v1::Health Last(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu);
    return last[id];
  }
  std::mutex mu;
  std::map<std::string, runtime::v1::Health> last;
  std::vector<std::string> statuses;
};

bool Eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return condition();
}

TEST_CASE("the monitor probes until stopped and reports changes") {
  ScriptedProber prober;
  prober.results = {ProbeOutcome{1, "down"}, absl::DeadlineExceededError("slow"),
                    ProbeOutcome{0, "up"}};
  RecordingSink sink;
  HealthConfig config;
  config.command = {"check"};
  config.interval = milliseconds(5);
  config.timeout = std::chrono::milliseconds(1500);
  config.retries = 2;
  {
    HealthMonitor monitor(&prober, &sink);
    monitor.Start("c1", config, absl::ToUnixNanos(absl::Now()));
    REQUIRE(Eventually([&] { return sink.Statuses().size() >= 3; }));
    CHECK(sink.Statuses() == std::vector<std::string>{"starting", "unhealthy", "healthy"});
    runtime::v1::Health health = sink.Last("c1");
    REQUIRE(health.log_size() >= 3);
    CHECK(health.log(1).exit_code() == -1);
    CHECK(health.log(1).output() == "Health check exceeded timeout (1.5s)");
    monitor.Stop("c1");
    size_t probes = prober.commands.size();
    std::this_thread::sleep_for(milliseconds(50));
    CHECK(prober.commands.size() == probes);
    CHECK(prober.commands.front() == std::vector<std::string>{"check"});
  }
}

}  // namespace
}  // namespace berth::runtimed
