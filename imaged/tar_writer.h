// A streaming tar writer (libarchive, pax-restricted: plain ustar unless a
// name needs an extension) over a ByteSink. Nothing is buffered beyond
// libarchive's block, so an archive of any size is written in constant memory.
#pragma once

#include <archive.h>

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

class TarWriter {
 public:
  // sink is not owned and must outlive the writer. mtime is the modification
  // time (seconds since the epoch) given to every entry.
  TarWriter(ByteSink* sink, int64_t mtime);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  absl::Status Open();
  absl::Status AddDirectory(const std::string& path);
  absl::Status AddFile(const std::string& path, absl::string_view data);
  // Copies exactly size bytes from source into the entry, hashing them: the
  // content must be `expected_digest` ("sha256:<hex>"), else DataLoss (the
  // archive is then unusable and the caller must abandon it).
  absl::Status AddStream(const std::string& path, int64_t size, ByteSource& source,
                         const std::string& expected_digest);
  // Writes the end-of-archive trailer.
  absl::Status Close();

 private:
  static la_ssize_t WriteCallback(struct archive* archive, void* self, const void* buffer,
                                  size_t length);
  absl::Status Header(const std::string& path, unsigned int type, int mode, int64_t size);
  absl::Status WriteData(const char* data, size_t size);
  absl::Status Error(const std::string& what);

  ByteSink* sink_;
  int64_t mtime_;
  struct archive* archive_;
  // Why the sink refused bytes (libarchive only sees a failed write).
  absl::Status sink_status_;
  bool closed_ = false;
};

}  // namespace berth::imaged
