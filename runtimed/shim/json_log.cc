#include "runtimed/shim/json_log.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtime {
namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
size_t Utf8SequenceLength(absl::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t n;
  uint32_t min;
  uint32_t code;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2, min = 0x80, code = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, min = 0x800, code = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, min = 0x10000, code = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code = (code << 6) | (byte(i + k) & 0x3F);
  }
  if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  return n;
}

void AppendEscaped(absl::string_view text, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(text, i);
      if (n == 0) {
        out->append("\\ufffd");
        ++i;
        continue;
      }
      absl::string_view seq = text.substr(i, n);
      // U+2028 and U+2029 are escaped by Go to keep JSON valid JavaScript.
      if (seq == "\xE2\x80\xA8" || seq == "\xE2\x80\xA9") {
        out->append(seq == "\xE2\x80\xA8" ? "\\u2028" : "\\u2029");
      } else {
        out->append(seq.data(), seq.size());
      }
      i += n;
      continue;
    }
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '<':
      case '>':
      case '&':
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
        break;
      default:
        if (c < 0x20) {
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
}

}  // namespace

std::string FormatRfc3339Nano(const timespec& time) {
  struct tm tm;
  gmtime_r(&time.tv_sec, &tm);
  char buffer[64];
  size_t n = strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  std::string result(buffer, n);
  if (time.tv_nsec != 0) {
    char fraction[16];
    snprintf(fraction, sizeof(fraction), ".%09ld", static_cast<long>(time.tv_nsec));
    std::string f = fraction;
    while (f.back() == '0') f.pop_back();
    result += f;
  }
  return result + "Z";
}

std::string FormatLogEntry(absl::string_view text, absl::string_view stream, const timespec& time) {
  std::string line = "{\"log\":\"";
  line.reserve(text.size() + 80);
  AppendEscaped(text, &line);
  absl::StrAppend(&line, "\",\"stream\":\"", stream, "\",\"time\":\"", FormatRfc3339Nano(time),
                  "\"}\n");
  return line;
}

std::string FormatLocalEntry(absl::string_view text, absl::string_view stream,
                             const timespec& time) {
  shim::v1::LocalLogEntry entry;
  entry.set_source(std::string(stream));
  entry.set_time_nano(static_cast<int64_t>(time.tv_sec) * 1000000000 + time.tv_nsec);
  bool complete = !text.empty() && text.back() == '\n';
  if (complete) text.remove_suffix(1);
  entry.set_line(std::string(text));
  entry.set_partial(!complete);
  std::string body = entry.SerializeAsString();
  const uint32_t size = static_cast<uint32_t>(body.size());
  const char frame[4] = {static_cast<char>(size >> 24), static_cast<char>(size >> 16),
                         static_cast<char>(size >> 8), static_cast<char>(size)};
  std::string out(frame, 4);
  out += body;
  out.append(frame, 4);
  return out;
}

absl::Status CompressLogFile(const std::string& from, const std::string& to,
                             const timespec& last_time) {
  const std::string temporary = to + ".tmp";
  int in = open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return LastErrnoStatus("open " + from);
  int out = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (out < 0) {
    absl::Status status = LastErrnoStatus("create " + temporary);
    close(in);
    return status;
  }
  z_stream stream = {};
  // 15 + 16: a gzip wrapper rather than zlib's own, as Go's compress/gzip.
  if (deflateInit2(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    close(in);
    close(out);
    unlink(temporary.c_str());
    return absl::InternalError("deflateInit2 failed");
  }
  // Moby's readers skip a whole rotated file by this time (docker logs --since).
  std::string extra = "{\"lastTime\":\"" + FormatRfc3339Nano(last_time) + "\"}";
  gz_header header = {};
  header.time = static_cast<uLong>(time(nullptr));
  header.os = 255;
  header.extra = reinterpret_cast<Bytef*>(extra.data());
  header.extra_len = static_cast<uInt>(extra.size());
  deflateSetHeader(&stream, &header);

  absl::Status status;
  char input[64 * 1024];
  char output[64 * 1024];
  for (bool done = false; status.ok() && !done;) {
    ssize_t n = read(in, input, sizeof(input));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = LastErrnoStatus("read " + from);
      break;
    }
    done = n == 0;
    stream.next_in = reinterpret_cast<Bytef*>(input);
    stream.avail_in = static_cast<uInt>(n);
    do {
      stream.next_out = reinterpret_cast<Bytef*>(output);
      stream.avail_out = sizeof(output);
      deflate(&stream, done ? Z_FINISH : Z_NO_FLUSH);
      status = WriteFull(out, output, sizeof(output) - stream.avail_out);
    } while (status.ok() && stream.avail_out == 0);
  }
  deflateEnd(&stream);
  close(in);
  if (status.ok() && fdatasync(out) != 0) status = LastErrnoStatus("sync " + temporary);
  if (close(out) != 0 && status.ok()) status = LastErrnoStatus("close " + temporary);
  if (status.ok() && rename(temporary.c_str(), to.c_str()) != 0) {
    status = LastErrnoStatus("rename " + temporary);
  }
  if (!status.ok()) {
    unlink(temporary.c_str());
    return status;
  }
  // Readers find one of the two names at any moment: `to` is in place first.
  if (unlink(from.c_str()) != 0) return LastErrnoStatus("remove " + from);
  return absl::OkStatus();
}

JsonLogWriter::JsonLogWriter(std::string path, int64_t max_size, int max_files, LogFormat format,
                             bool compress)
    : path_(std::move(path)),
      max_size_(max_size),
      max_files_(max_files),
      format_(format),
      compress_(compress) {}

JsonLogWriter::~JsonLogWriter() {
  WaitCompression();
  if (fd_ >= 0) close(fd_);
}

bool JsonLogWriter::ChildExited(pid_t pid) {
  if (pid <= 0 || pid != compressor_) return false;
  compressor_ = -1;
  return true;
}

void JsonLogWriter::WaitCompression() {
  if (compressor_ <= 0) return;
  int status;
  while (waitpid(compressor_, &status, 0) < 0 && errno == EINTR) {
  }
  compressor_ = -1;
}

void JsonLogWriter::StartCompression() {
  const std::string from = path_ + ".1";
  pid_t pid = fork();
  if (pid == 0) {
    // A low priority: the container's own work goes first.
    setpriority(PRIO_PROCESS, 0, 10);
    absl::Status status = CompressLogFile(from, from + ".gz", last_time_);
    if (!status.ok()) {
      fprintf(stderr, "compress %s: %s\n", from.c_str(), std::string(status.message()).c_str());
    }
    _exit(status.ok() ? 0 : 1);
  }
  // Without a child the file stays uncompressed, which readers take as well.
  if (pid > 0) compressor_ = pid;
}

absl::Status JsonLogWriter::Open() {
  if (path_.empty()) return absl::OkStatus();
  fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd_ < 0) return LastErrnoStatus("open log file " + path_);
  struct stat st;
  if (fstat(fd_, &st) == 0) size_ = st.st_size;
  return absl::OkStatus();
}

absl::Status JsonLogWriter::Write(int stream, absl::string_view data) {
  if (stream != 1 && stream != 2) return absl::InvalidArgumentError("bad stream");
  std::string& pending = pending_[stream];
  pending.append(data.data(), data.size());
  size_t start = 0;
  while (true) {
    size_t newline = pending.find('\n', start);
    if (newline == std::string::npos) {
      if (pending.size() - start < kMaxLine) break;
      RETURN_IF_ERROR(Emit(stream, absl::string_view(pending).substr(start, kMaxLine)));
      start += kMaxLine;
      continue;
    }
    size_t length = newline + 1 - start;
    while (length > kMaxLine) {
      RETURN_IF_ERROR(Emit(stream, absl::string_view(pending).substr(start, kMaxLine)));
      start += kMaxLine;
      length -= kMaxLine;
    }
    RETURN_IF_ERROR(Emit(stream, absl::string_view(pending).substr(start, length)));
    start += length;
  }
  pending.erase(0, start);
  return absl::OkStatus();
}

absl::Status JsonLogWriter::Flush(int stream) {
  if (stream != 1 && stream != 2) return absl::InvalidArgumentError("bad stream");
  std::string pending = std::move(pending_[stream]);
  pending_[stream].clear();
  if (pending.empty()) return absl::OkStatus();
  return Emit(stream, pending);
}

absl::Status JsonLogWriter::Emit(int stream, absl::string_view text) {
  if (fd_ < 0) return absl::OkStatus();
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  const char* source = stream == 1 ? "stdout" : "stderr";
  std::string entry = format_ == LogFormat::kLocal ? FormatLocalEntry(text, source, now)
                                                   : FormatLogEntry(text, source, now);
  if (max_size_ > 0 && size_ > 0 && size_ + static_cast<int64_t>(entry.size()) > max_size_) {
    RETURN_IF_ERROR(Rotate());
  }
  RETURN_IF_ERROR(WriteFull(fd_, entry.data(), entry.size()));
  size_ += static_cast<int64_t>(entry.size());
  last_time_ = now;
  return absl::OkStatus();
}

absl::Status JsonLogWriter::Rotate() {
  if (max_files_ <= 1) {
    if (ftruncate(fd_, 0) != 0) return LastErrnoStatus("truncate " + path_);
    size_ = 0;
    return absl::OkStatus();
  }
  // As Moby does, a rotation waits for the previous file's compression, so
  // that the chain never shifts under a compressor.
  WaitCompression();
  // A file whose compression was cut short (the shim was killed) is still
  // plain: each position may hold either name, and both move along.
  for (const char* suffix : {"", ".gz"}) {
    std::string oldest = absl::StrCat(path_, ".", max_files_ - 1, suffix);
    if (unlink(oldest.c_str()) != 0 && errno != ENOENT) return LastErrnoStatus("remove " + oldest);
  }
  for (int i = max_files_ - 1; i > 1; --i) {
    for (const char* suffix : {"", ".gz"}) {
      std::string from = absl::StrCat(path_, ".", i - 1, suffix);
      std::string to = absl::StrCat(path_, ".", i, suffix);
      if (rename(from.c_str(), to.c_str()) != 0 && errno != ENOENT) {
        return LastErrnoStatus("rotate " + from);
      }
    }
  }
  if (rename(path_.c_str(), (path_ + ".1").c_str()) != 0) return LastErrnoStatus("rotate " + path_);
  close(fd_);
  fd_ = -1;
  size_ = 0;
  RETURN_IF_ERROR(Open());
  if (compress_) StartCompression();
  return absl::OkStatus();
}

}  // namespace berth::runtime
