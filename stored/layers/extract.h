// Unpacking an OCI/Docker layer tar (plain, gzip or zstd) into a directory
// that overlayfs can use as a lower layer, verifying its diff ID on the way.
//
// This is a library on purpose: stored applies image layers with it, and
// the same code fits copying archives into containers later.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::layers {

// A pull source of the (possibly compressed) layer bytes, e.g. a gRPC stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Replaces *chunk with the next bytes; false at the end of the stream.
  virtual absl::StatusOr<bool> Next(std::string* chunk) = 0;
};

// A ByteSource over a string, for tests and small archives.
class StringSource : public ByteSource {
 public:
  explicit StringSource(std::string data, size_t chunk_size = 1 << 20)
      : data_(std::move(data)), chunk_size_(chunk_size) {}
  absl::StatusOr<bool> Next(std::string* chunk) override;

 private:
  std::string data_;
  size_t chunk_size_;
  size_t offset_ = 0;
};

struct ExtractOptions {
  // "sha256:<hex>" the uncompressed tar must hash to; empty to skip the check.
  std::string expected_diff_id;
  // Directories of the layers below, nearest first; directories this layer
  // has to create implicitly copy their attributes from there.
  std::vector<std::string> lower_dirs;
  // Report the directories this layer had to create without an entry of
  // their own (ExtractResult::implicit_dirs), for a layer extracted before
  // its lower layers are there: they get their attributes afterwards
  // (CopyLowerDirAttributes).
  bool report_implicit_dirs = false;
};

struct ExtractResult {
  // "sha256:<hex>" of the whole uncompressed tar stream.
  std::string diff_id;
  // Bytes of regular file content unpacked (hard links counted once).
  int64_t size = 0;
  // With report_implicit_dirs: directories created to hold entries, that no
  // entry of the layer describes, parents before children.
  std::vector<std::string> implicit_dirs;
};

// Unpacks the archive into `dest` (an existing, empty directory), keeping
// owners, modes, times, xattrs and ACLs, and converting whiteouts to
// overlayfs's form. Entries that would land outside `dest` (absolute paths,
// "..", writes through symlinks, hard links to outside) make the whole layer
// InvalidArgument, as does a digest that differs from expected_diff_id. On
// error `dest` may hold partial content: the caller discards it.
absl::StatusOr<ExtractResult> ExtractLayer(ByteSource& source, const std::string& dest,
                                           const ExtractOptions& options);

}  // namespace berth::layers
