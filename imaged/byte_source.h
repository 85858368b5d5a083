// A pull-based byte stream: what imaged reads archives and layers from. The
// gRPC adapter wraps a client stream in one, tests wrap a string, the content
// store hands out one per blob, so the logic never sees where bytes come from.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/status.h"

namespace berth::imaged {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buffer; 0 means end of stream.
  virtual absl::StatusOr<size_t> Read(char* buffer, size_t n) = 0;
  // True once Read has returned every byte there is (the next Read returns
  // 0). A source that learns its end only by asking again says false.
  virtual bool Drained() { return false; }
};

class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data) : data_(std::move(data)) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    size_t count = std::min(n, data_.size() - offset_);
    std::memcpy(buffer, data_.data() + offset_, count);
    offset_ += count;
    return count;
  }
  bool Drained() override { return offset_ == data_.size(); }

 private:
  std::string data_;
  size_t offset_ = 0;
};

// Owns fd and closes it.
class FdSource : public ByteSource {
 public:
  explicit FdSource(int fd) : fd_(fd) {}
  ~FdSource() override {
    if (fd_ >= 0) close(fd_);
  }
  FdSource(const FdSource&) = delete;
  FdSource& operator=(const FdSource&) = delete;
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    while (true) {
      ssize_t count = read(fd_, buffer, n);
      if (count >= 0) return static_cast<size_t>(count);
      if (errno != EINTR) return LastErrnoStatus("read");
    }
  }

 private:
  int fd_;
};

// A push-based byte stream: where imaged writes archives (docker save) to.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual absl::Status Write(absl::string_view data) = 0;
};

class StringSink : public ByteSink {
 public:
  absl::Status Write(absl::string_view data) override {
    data_.append(data.data(), data.size());
    return absl::OkStatus();
  }
  const std::string& data() const { return data_; }

 private:
  std::string data_;
};

}  // namespace berth::imaged
