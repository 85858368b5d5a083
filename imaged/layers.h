// Layer identity and compression: chain IDs (the key stored keeps layers
// under) and reading compressed layer tars.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

// chain(0) = diff(0); chain(n) = sha256(chain(n-1) + " " + diff(n)), as in
// the OCI image spec. Bottom layer first.
std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids);

enum class Compression { kNone, kGzip, kBzip2, kXz, kZstd };

// Recognises compressed data by its magic bytes.
Compression DetectCompression(absl::string_view head);
const char* CompressionName(Compression compression);

// The uncompressed bytes of a (gzip, bzip2, xz, zstd or plain) stream, via
// libarchive's raw format.
absl::StatusOr<std::unique_ptr<ByteSource>> Decompress(std::unique_ptr<ByteSource> source);

// "sha256:<hex>" and size of everything source yields.
struct StreamDigest {
  std::string digest;
  int64_t size = 0;
};
absl::StatusOr<StreamDigest> DigestStream(ByteSource& source);

}  // namespace berth::imaged
