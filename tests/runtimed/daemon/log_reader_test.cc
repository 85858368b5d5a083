#include "runtimed/daemon/log_reader.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

constexpr int64_t kBase = 1700000000LL * 1000000000LL;  // 2023-11-14T22:13:20Z

std::string Line(const std::string& stream, const std::string& log, int second) {
  return absl::StrCat(R"({"log":")", log, R"(\n","stream":")", stream,
                      R"(","time":"2023-11-14T22:13:)", 20 + second, ".000000001Z\"}\n");
}

void Append(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::app);
  out << text;
}

std::vector<std::string> ReadAll(const std::string& path, LogReadOptions options) {
  std::vector<std::string> out;
  LogReadCallbacks callbacks;
  callbacks.emit = [&](const LogRecord& r) {
    out.push_back(absl::StrCat(r.stream, ":", r.data));
    return true;
  };
  REQUIRE(ReadLogs(path, options, callbacks).ok());
  return out;
}

}  // namespace

TEST_CASE("json-file lines parse", "[logs]") {
  auto record = ParseLogLine(R"({"log":"hi\n","stream":"stderr","time":"2023-11-14T22:13:20.5Z"})");
  REQUIRE(record.ok());
  CHECK(record->stream == 2);
  CHECK(record->data == "hi\n");
  CHECK(record->time_nano == kBase + 500000000);
  CHECK(*ParseRfc3339Nano("2023-11-14T23:13:20.000000001+01:00") == kBase + 1);
  CHECK_FALSE(ParseLogLine("not json").ok());
  CHECK_FALSE(ParseRfc3339Nano("yesterday").ok());
}

TEST_CASE("logs filter by stream, time and tail", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/c-json.log";
  LogReadOptions all;
  CHECK(ReadAll(path, all).empty());  // No log yet is an empty log.

  Append(path + ".1", Line("stdout", "old", 0));
  Append(path, Line("stdout", "out1", 1) + Line("stderr", "err1", 2) + "garbage\n" +
                   Line("stdout", "out2", 3) + R"({"log":"partial)");
  CHECK(ReadAll(path, all) ==
        std::vector<std::string>{"1:old\n", "1:out1\n", "2:err1\n", "1:out2\n"});

  LogReadOptions stderr_only;
  stderr_only.stdout = false;
  CHECK(ReadAll(path, stderr_only) == std::vector<std::string>{"2:err1\n"});

  LogReadOptions tail;
  tail.tail = 2;
  CHECK(ReadAll(path, tail) == std::vector<std::string>{"2:err1\n", "1:out2\n"});
  // The tail counts both streams, then the stream filter applies.
  tail.stderr = false;
  CHECK(ReadAll(path, tail) == std::vector<std::string>{"1:out2\n"});
  LogReadOptions none;
  none.tail = 0;
  CHECK(ReadAll(path, none).empty());

  LogReadOptions window;
  window.since = kBase + 1000000001;  // out1 exactly: inclusive.
  window.until = kBase + 2000000001;
  CHECK(ReadAll(path, window) == std::vector<std::string>{"1:out1\n", "2:err1\n"});
}

TEST_CASE("follow streams a growing file until the container is done", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/c-json.log";
  Append(path, Line("stdout", "first", 0));
  std::atomic<bool> finished{false};
  std::vector<std::string> got;
  std::mutex mu;
  LogReadOptions options;
  options.follow = true;
  options.poll_interval_ms = 5;
  LogReadCallbacks callbacks;
  callbacks.emit = [&](const LogRecord& r) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(r.data);
    return true;
  };
  callbacks.finished = [&] { return finished.load(); };
  std::thread reader([&] { REQUIRE(ReadLogs(path, options, callbacks).ok()); });
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  };
  for (int i = 0; i < 200 && count() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // A line written in two pieces arrives once, whole.
  Append(path, R"({"log":"sec)");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  Append(path, std::string(R"(ond\n","stream":"stdout","time":"2023-11-14T22:13:21Z"})") + "\n");
  for (int i = 0; i < 200 && count() < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Rotation: the shim renames the file and starts a new one.
  REQUIRE(rename(path.c_str(), (path + ".1").c_str()) == 0);
  Append(path, Line("stderr", "third", 2));
  for (int i = 0; i < 200 && count() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // Output written just before the exit is still delivered.
  Append(path, Line("stdout", "last", 3));
  finished = true;
  reader.join();
  CHECK(got == std::vector<std::string>{"first\n", "second\n", "third\n", "last\n"});
}

TEST_CASE("follow stops when the client goes away", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/c-json.log";
  std::atomic<bool> cancelled{false};
  LogReadOptions options;
  options.follow = true;
  options.poll_interval_ms = 5;
  LogReadCallbacks callbacks;
  callbacks.emit = [](const LogRecord&) { return true; };
  callbacks.finished = [] { return false; };
  callbacks.cancelled = [&] { return cancelled.load(); };
  std::thread reader([&] { REQUIRE(ReadLogs(path, options, callbacks).ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  cancelled = true;
  reader.join();
}

}  // namespace berth::runtimed
