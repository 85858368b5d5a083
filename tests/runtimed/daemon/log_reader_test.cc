#include "runtimed/daemon/log_reader.h"

#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/fs.h"
#include "runtimed/shim/json_log.h"
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

namespace berth::runtimed {
namespace {

// The shim's writer and this reader must agree on the local format.
TEST_CASE("local logs written by the shim read back with filters and rotation", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/container.log";
  {
    runtime::JsonLogWriter writer(path, 0, 0, runtime::LogFormat::kLocal);
    REQUIRE(writer.Open().ok());
    REQUIRE(writer.Write(1, "one\ntwo\n").ok());
    REQUIRE(writer.Write(2, "err\n").ok());
    REQUIRE(writer.Write(1, "no newline").ok());
    REQUIRE(writer.Flush(1).ok());
  }
  LogReadOptions options;
  options.format = LogFormat::kLocal;
  CHECK(ReadAll(path, options) ==
        std::vector<std::string>{"1:one\n", "1:two\n", "2:err\n", "1:no newline"});
  options.stderr = false;
  options.tail = 2;
  CHECK(ReadAll(path, options) == std::vector<std::string>{"1:no newline"});
  // A json-file reader of a local log finds no lines in it, not garbage.
  CHECK(ReadAll(path, LogReadOptions{}).empty());

  options = LogReadOptions{};
  options.format = LogFormat::kLocal;
  options.since = absl::ToUnixNanos(absl::Now()) + 3600LL * 1000000000LL;
  CHECK(ReadAll(path, options).empty());
}

TEST_CASE("local logs rotate and read oldest first", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/container.log";
  runtime::JsonLogWriter writer(path, 100, 3, runtime::LogFormat::kLocal);
  REQUIRE(writer.Open().ok());
  for (int i = 0; i < 12; ++i) REQUIRE(writer.Write(1, absl::StrCat("line ", 10 + i, "\n")).ok());
  CHECK(PathExists(path + ".2"));
  CHECK_FALSE(PathExists(path + ".3"));
  LogReadOptions options;
  options.format = LogFormat::kLocal;
  std::vector<std::string> lines = ReadAll(path, options);
  REQUIRE(lines.size() >= 3);
  CHECK(lines.back() == "1:line 21\n");
  for (size_t i = 1; i < lines.size(); ++i) CHECK(lines[i - 1] < lines[i]);
}

TEST_CASE("a torn local frame at the end is waited for, a corrupt one skipped", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/container.log";
  timespec now{1700000000, 5};
  std::string good = runtime::FormatLocalEntry("ok\n", "stdout", now);
  std::string corrupt = std::string("\0\0\0\x02\xff\xff\0\0\0\x02", 10);
  Append(path, corrupt + good + good.substr(0, 7));
  LogReadOptions options;
  options.format = LogFormat::kLocal;
  CHECK(ReadAll(path, options) == std::vector<std::string>{"1:ok\n"});
  Append(path, good.substr(7));
  CHECK(ReadAll(path, options) == std::vector<std::string>{"1:ok\n", "1:ok\n"});
  auto record = ParseLocalEntry(absl::string_view(good).substr(4, good.size() - 8));
  REQUIRE(record.ok());
  CHECK(record->time_nano == 1700000000LL * 1000000000LL + 5);
}

TEST_CASE("compressed rotated files read back oldest first, with tail and follow", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/container.log";
  runtime::JsonLogWriter writer(path, 100, 4, runtime::LogFormat::kLocal, /*compress=*/true);
  REQUIRE(writer.Open().ok());
  for (int i = 0; i < 12; ++i) {
    REQUIRE(writer.Write(1, absl::StrCat("line ", 10 + i, "\n")).ok());
    // A compression still running when the next rotation comes is waited
    // for; waiting here makes every rotated file a .gz.
    writer.WaitCompression();
  }
  REQUIRE(PathExists(path + ".3.gz"));
  CHECK_FALSE(PathExists(path + ".1"));
  LogReadOptions options;
  options.format = LogFormat::kLocal;
  std::vector<std::string> lines = ReadAll(path, options);
  REQUIRE(lines.size() >= 6);
  CHECK(lines.back() == "1:line 21\n");
  for (size_t i = 1; i < lines.size(); ++i) CHECK(lines[i - 1] < lines[i]);
  const std::vector<std::string> all = lines;

  // A file whose compression was cut short stays plain: both kinds mix.
  REQUIRE(rename((path + ".2.gz").c_str(), (path + ".2.gz.saved").c_str()) == 0);
  {
    gzFile in = gzopen((path + ".2.gz.saved").c_str(), "rb");
    REQUIRE(in != nullptr);
    std::string plain;
    char buffer[4096];
    for (int n; (n = gzread(in, buffer, sizeof(buffer))) > 0;) plain.append(buffer, n);
    gzclose(in);
    REQUIRE(WriteFileAtomic(path + ".2", plain).ok());
  }
  CHECK(ReadAll(path, options) == all);

  options.tail = 3;
  lines = ReadAll(path, options);
  CHECK(lines == std::vector<std::string>(all.end() - 3, all.end()));

  // A corrupt compressed file is an error, not a silent gap.
  REQUIRE(WriteFileAtomic(path + ".3.gz", std::string("\x1f\x8b\x08\0garbage", 12)).ok());
  options.tail = -1;
  LogReadCallbacks callbacks;
  callbacks.emit = [](const LogRecord&) { return true; };
  CHECK_FALSE(ReadLogs(path, options, callbacks).ok());
}

TEST_CASE("follow carries on across a compressed rotation", "[logs]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/container.log";
  runtime::JsonLogWriter writer(path, 60, 3, runtime::LogFormat::kLocal, /*compress=*/true);
  REQUIRE(writer.Open().ok());
  REQUIRE(writer.Write(1, "before\n").ok());
  std::atomic<bool> finished{false};
  std::mutex mu;
  std::vector<std::string> got;
  LogReadOptions options;
  options.format = LogFormat::kLocal;
  options.follow = true;
  options.poll_interval_ms = 5;
  LogReadCallbacks callbacks;
  callbacks.emit = [&](const LogRecord& r) {
    std::lock_guard<std::mutex> lock(mu);
    got.push_back(r.data);
    return true;
  };
  callbacks.finished = [&] { return finished.load(); };
  auto count = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return got.size();
  };
  std::thread reader([&] { REQUIRE(ReadLogs(path, options, callbacks).ok()); });
  for (int i = 0; i < 2000 && count() < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // One entry at a time: a follower that sleeps through two rotations
  // would skip the middle file, as Docker's does.
  for (size_t i = 0; i < 8; ++i) {
    REQUIRE(writer.Write(1, absl::StrCat("after ", i, "\n")).ok());
    for (int k = 0; k < 2000 && count() < i + 2; ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  writer.WaitCompression();
  finished = true;
  reader.join();
  std::vector<std::string> want = {"before\n"};
  for (int i = 0; i < 8; ++i) want.push_back(absl::StrCat("after ", i, "\n"));
  CHECK(got == want);
  CHECK(PathExists(path + ".1.gz"));
}

}  // namespace
}  // namespace berth::runtimed
