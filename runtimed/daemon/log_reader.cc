#include "runtimed/daemon/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <deque>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtimed {
namespace {

// Splits a file into records as it grows; a trailing partial record is kept
// until the rest of it arrives. Torn or foreign records are skipped.
class LogFileReader {
 public:
  // A gzipped file (a compressed rotated log) is inflated as it is read.
  LogFileReader(int fd, LogFormat format, bool gzipped = false)
      : fd_(fd), format_(format), gzipped_(gzipped) {
    // 15 + 32: a gzip (or zlib) wrapper, detected from the header.
    if (gzipped_ && inflateInit2(&inflater_, 15 + 32) != Z_OK) fd_error_ = true;
  }
  LogFileReader(const LogFileReader&) = delete;
  LogFileReader& operator=(const LogFileReader&) = delete;
  ~LogFileReader() {
    if (fd_ >= 0) close(fd_);
    if (gzipped_) inflateEnd(&inflater_);
  }

  // Calls on_record for each complete record available now; false when
  // on_record asked to stop.
  absl::StatusOr<bool> ReadAvailable(const std::function<bool(const LogRecord&)>& on_record) {
    if (fd_error_) return absl::InternalError("inflateInit2 failed");
    char buffer[65536];
    for (;;) {
      ssize_t n = read(fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrnoStatus("read log");
      if (n == 0) {
        // A .gz is renamed into place only once complete: a short one is damage.
        if (gzipped_ && !inflated_all_) return absl::DataLossError("truncated compressed log file");
        return true;
      }
      if (gzipped_) {
        RETURN_IF_ERROR(Inflate(buffer, static_cast<size_t>(n)));
      } else {
        partial_.append(buffer, static_cast<size_t>(n));
      }
      size_t start = 0;
      bool more = format_ == LogFormat::kLocal ? SplitFrames(on_record, &start)
                                               : SplitLines(on_record, &start);
      partial_.erase(0, start);
      if (!more) return false;
    }
  }

  ino_t inode() const {
    struct stat st;
    return fstat(fd_, &st) == 0 ? st.st_ino : 0;
  }

 private:
  absl::Status Inflate(char* data, size_t size) {
    char output[65536];
    inflater_.next_in = reinterpret_cast<Bytef*>(data);
    inflater_.avail_in = static_cast<uInt>(size);
    while (inflater_.avail_in > 0 && !inflated_all_) {
      inflater_.next_out = reinterpret_cast<Bytef*>(output);
      inflater_.avail_out = sizeof(output);
      int rc = inflate(&inflater_, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        return absl::DataLossError("corrupt compressed log file");
      }
      partial_.append(output, sizeof(output) - inflater_.avail_out);
      inflated_all_ = rc == Z_STREAM_END;
      if (rc == Z_BUF_ERROR) break;
    }
    return absl::OkStatus();
  }

  bool SplitLines(const std::function<bool(const LogRecord&)>& on_record, size_t* start) {
    for (size_t nl; (nl = partial_.find('\n', *start)) != std::string::npos;) {
      auto record = ParseLogLine(partial_.substr(*start, nl - *start));
      *start = nl + 1;
      if (record.ok() && !on_record(*record)) return false;
    }
    return true;
  }

  bool SplitFrames(const std::function<bool(const LogRecord&)>& on_record, size_t* start) {
    while (partial_.size() - *start >= 4) {
      const auto* p = reinterpret_cast<const unsigned char*>(partial_.data() + *start);
      const size_t size = (size_t{p[0]} << 24) | (size_t{p[1]} << 16) | (size_t{p[2]} << 8) | p[3];
      if (partial_.size() - *start < size + 8) break;
      auto record = ParseLocalEntry(absl::string_view(partial_).substr(*start + 4, size));
      *start += size + 8;
      if (record.ok() && !on_record(*record)) return false;
    }
    return true;
  }

  int fd_;
  LogFormat format_;
  bool gzipped_;
  bool fd_error_ = false;
  bool inflated_all_ = false;
  z_stream inflater_ = {};
  std::string partial_;
};

absl::StatusOr<std::unique_ptr<LogFileReader>> OpenLog(const std::string& path, LogFormat format,
                                                       bool gzipped = false) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::unique_ptr<LogFileReader>();
    return LastErrnoStatus("open " + path);
  }
  return std::make_unique<LogFileReader>(fd, format, gzipped);
}

// A rotated file is <log>.N, or <log>.N.gz once compressed. The shim's
// compressor puts the .gz in place before removing the plain one, so trying
// the plain name first and then the .gz never misses both.
absl::StatusOr<std::unique_ptr<LogFileReader>> OpenRotated(const std::string& path,
                                                           LogFormat format) {
  ASSIGN_OR_RETURN(std::unique_ptr<LogFileReader> plain, OpenLog(path, format));
  if (plain) return plain;
  return OpenLog(path + ".gz", format, true);
}

ino_t InodeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

absl::StatusOr<int64_t> ParseRfc3339Nano(const std::string& text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) {
    return absl::InvalidArgumentError("invalid timestamp " + text + ": " + error);
  }
  return absl::ToUnixNanos(time);
}

LogFormat LogFormatOf(const std::string& driver) {
  return driver == "local" ? LogFormat::kLocal : LogFormat::kJsonFile;
}

absl::StatusOr<LogRecord> ParseLocalEntry(absl::string_view frame) {
  shim::v1::LocalLogEntry entry;
  if (!entry.ParseFromArray(frame.data(), static_cast<int>(frame.size()))) {
    return absl::InvalidArgumentError("malformed local log entry");
  }
  LogRecord record;
  record.stream = entry.source() == "stderr" ? 2 : 1;
  record.time_nano = entry.time_nano();
  record.data = entry.line();
  if (!entry.partial()) record.data.push_back('\n');
  return record;
}

absl::StatusOr<LogRecord> ParseLogLine(const std::string& line) {
  ASSIGN_OR_RETURN(Json entry, ParseJson(line));
  if (!entry.is_object() || !entry.contains("log") || !entry["log"].is_string()) {
    return absl::InvalidArgumentError("log line without \"log\"");
  }
  LogRecord record;
  record.data = entry["log"].get<std::string>();
  record.stream = entry.value("stream", "stdout") == "stderr" ? 2 : 1;
  if (entry.contains("time") && entry["time"].is_string()) {
    ASSIGN_OR_RETURN(record.time_nano, ParseRfc3339Nano(entry["time"].get<std::string>()));
  }
  return record;
}

absl::Status ReadLogs(const std::string& path, const LogReadOptions& options,
                      const LogReadCallbacks& callbacks) {
  auto in_range = [&](const LogRecord& r) {
    return (options.since == 0 || r.time_nano >= options.since) &&
           (options.until == 0 || r.time_nano <= options.until);
  };
  auto wanted_stream = [&](const LogRecord& r) {
    return r.stream == 2 ? options.stderr : options.stdout;
  };
  bool stopped = false;
  auto deliver = [&](const LogRecord& r) {
    if (stopped || !wanted_stream(r)) return !stopped;
    if (!callbacks.emit(r)) stopped = true;
    return !stopped;
  };

  // The backlog: rotated files oldest first, then the live file. With a tail,
  // only the last N records are kept before being delivered.
  std::deque<LogRecord> tail;
  auto on_line = [&](const LogRecord& record) {
    if (!in_range(record)) return true;
    if (options.tail < 0) return deliver(record);
    if (options.tail == 0) return true;
    tail.push_back(record);
    if (static_cast<int64_t>(tail.size()) > options.tail) tail.pop_front();
    return true;
  };
  std::vector<std::string> rotated;
  for (int i = 1;
       PathExists(absl::StrCat(path, ".", i)) || PathExists(absl::StrCat(path, ".", i, ".gz"));
       ++i) {
    rotated.insert(rotated.begin(), absl::StrCat(path, ".", i));
  }
  for (const std::string& file : rotated) {
    ASSIGN_OR_RETURN(std::unique_ptr<LogFileReader> reader, OpenRotated(file, options.format));
    if (reader) RETURN_IF_ERROR(Annotate(reader->ReadAvailable(on_line).status(), "read " + file));
    if (stopped) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<LogFileReader> live, OpenLog(path, options.format));
  if (live) RETURN_IF_ERROR(live->ReadAvailable(on_line).status());
  for (const LogRecord& r : tail) {
    if (!deliver(r)) return absl::OkStatus();
  }
  if (!options.follow || stopped) return absl::OkStatus();

  auto follow_line = [&](const LogRecord& record) { return !in_range(record) || deliver(record); };
  for (;;) {
    if (live) {
      ASSIGN_OR_RETURN(bool more, live->ReadAvailable(follow_line));
      if (!more) return absl::OkStatus();
    }
    // The shim rotated (or created) the file: finish the old one, continue
    // with the new one from its start.
    const ino_t current = InodeOf(path);
    if (current != 0 && (!live || live->inode() != current)) {
      ASSIGN_OR_RETURN(live, OpenLog(path, options.format));
      continue;
    }
    if (callbacks.cancelled()) return absl::OkStatus();
    if (callbacks.finished()) {
      if (live) RETURN_IF_ERROR(live->ReadAvailable(follow_line).status());
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options.poll_interval_ms));
  }
}

}  // namespace berth::runtimed
