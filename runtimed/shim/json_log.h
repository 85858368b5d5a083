// Docker's json-file log driver, as the shim writes it: one JSON object per
// line, {"log":"<text incl. \n>","stream":"stdout","time":"<RFC3339Nano>"};
// and its `local` driver: length-framed LocalLogEntry messages (shim.proto).
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::runtime {

// Go's time.RFC3339Nano in UTC: trailing zeros of the fraction trimmed.
std::string FormatRfc3339Nano(const timespec& time);

// One log entry, with its trailing newline. The text is escaped as Go's
// encoding/json does (so <, > and & become \u003c ...; invalid UTF-8 \ufffd).
std::string FormatLogEntry(absl::string_view text, absl::string_view stream, const timespec& time);

// A `local` driver entry with its frame; `text` may end in its newline.
std::string FormatLocalEntry(absl::string_view text, absl::string_view stream,
                             const timespec& time);

enum class LogFormat { kJsonFile, kLocal };

// Gzips `from` into `to` as Docker's rotated log files are: the gzip header's
// extra field holds {"lastTime":"<RFC3339Nano>"}, the time of the file's last
// entry. Written to a temporary name and renamed, so `to` is never partial;
// `from` is removed only once `to` is in place.
absl::Status CompressLogFile(const std::string& from, const std::string& to,
                             const timespec& last_time);

class JsonLogWriter {
 public:
  // Lines longer than this are written in pieces, as Docker does.
  static constexpr size_t kMaxLine = 16 * 1024;

  // An empty path disables logging. max_size 0: no rotation; otherwise the
  // file is rotated to <path>.1 ... <path>.<max_files-1> (or truncated when
  // max_files <= 1) before it would exceed max_size. With `compress`, each
  // rotated file becomes <path>.N.gz, gzipped by a child process so that
  // neither the container's writes nor the shim's memory pay for it.
  JsonLogWriter(std::string path, int64_t max_size, int max_files,
                LogFormat format = LogFormat::kJsonFile, bool compress = false);
  ~JsonLogWriter();
  JsonLogWriter(const JsonLogWriter&) = delete;
  JsonLogWriter& operator=(const JsonLogWriter&) = delete;

  absl::Status Open();
  // Output of stream 1 (stdout) or 2 (stderr): complete lines are written,
  // the rest waits for its newline.
  absl::Status Write(int stream, absl::string_view data);
  // End of a stream: its partial line is written as it is.
  absl::Status Flush(int stream);

  // The owner reaped `pid` (the shim reaps every child): true when it was
  // this writer's compressor, which is then no longer waited for.
  bool ChildExited(pid_t pid);
  // Blocks until a running compression has finished.
  void WaitCompression();

 private:
  absl::Status Emit(int stream, absl::string_view text);
  absl::Status Rotate();
  void StartCompression();

  std::string path_;
  int64_t max_size_;
  int max_files_;
  LogFormat format_;
  bool compress_;
  pid_t compressor_ = -1;
  timespec last_time_ = {};
  int fd_ = -1;
  int64_t size_ = 0;
  std::string pending_[3];
};

}  // namespace berth::runtime
