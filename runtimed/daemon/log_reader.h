// Reading a container's log as the shim writes it (json-file: one JSON object
// per line, {"log":"...","stream":"stdout","time":"<RFC3339Nano>"}; local:
// length-framed LocalLogEntry messages), with Docker's filters, tail, and
// follow.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::runtimed {

struct LogRecord {
  // 1 stdout, 2 stderr.
  int stream = 1;
  std::string data;
  int64_t time_nano = 0;
};

absl::StatusOr<LogRecord> ParseLogLine(const std::string& line);
// A `local` entry without its frame; its line gets back its newline.
absl::StatusOr<LogRecord> ParseLocalEntry(absl::string_view frame);
// "2024-01-02T03:04:05.123456789Z" (any offset) as nanoseconds since the epoch.
absl::StatusOr<int64_t> ParseRfc3339Nano(const std::string& text);

enum class LogFormat { kJsonFile, kLocal };

// The format of HostConfig.LogConfig.Type's log (json-file for anything else).
LogFormat LogFormatOf(const std::string& driver);

struct LogReadOptions {
  LogFormat format = LogFormat::kJsonFile;
  bool stdout = true;
  bool stderr = true;
  // Nanoseconds since the epoch; 0 is no bound. Both bounds are inclusive.
  int64_t since = 0;
  int64_t until = 0;
  // Last N entries (counted before the stream filter, as Docker does);
  // negative means all.
  int64_t tail = -1;
  bool follow = false;
  // How often a follower looks for new data.
  int poll_interval_ms = 50;
};

struct LogReadCallbacks {
  // Returns false to stop (the reader went away).
  std::function<bool(const LogRecord&)> emit;
  // Following: true once the container can write no more (it is not
  // running); the reader drains what is left and returns.
  std::function<bool()> finished = [] { return true; };
  // Following: true when the client is gone.
  std::function<bool()> cancelled = [] { return false; };
};

// Reads `path` (and its rotated predecessors path.N ... path.1, oldest
// first, each either plain or gzipped as path.N.gz). A missing log is an
// empty one.
absl::Status ReadLogs(const std::string& path, const LogReadOptions& options,
                      const LogReadCallbacks& callbacks);

}  // namespace berth::runtimed
