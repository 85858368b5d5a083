#include "imaged/layers.h"

#include <archive.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status.h"
#include "imaged/archive_input.h"

namespace berth::imaged {

std::vector<std::string> ChainIds(const std::vector<std::string>& diff_ids) {
  std::vector<std::string> chains;
  chains.reserve(diff_ids.size());
  for (const std::string& diff_id : diff_ids) {
    if (chains.empty()) {
      chains.push_back(diff_id);
    } else {
      chains.push_back(Sha256Digest(chains.back() + " " + diff_id));
    }
  }
  return chains;
}

Compression DetectCompression(absl::string_view head) {
  auto starts = [&](absl::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("BZh")) return Compression::kBzip2;
  if (starts(absl::string_view("\xfd"
                               "7zXZ\x00",
                               6)))
    return Compression::kXz;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  return Compression::kNone;
}

const char* CompressionName(Compression compression) {
  switch (compression) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kXz:
      return "xz";
    case Compression::kZstd:
      return "zstd";
  }
  return "unknown";
}

namespace {

class DecompressingSource : public ByteSource {
 public:
  explicit DecompressingSource(std::unique_ptr<ByteSource> source)
      : archive_(archive_read_new()), source_(std::move(source)) {
    input_.source = source_.get();
  }
  ~DecompressingSource() override { archive_read_free(archive_); }

  absl::Status Open() {
    archive_read_support_filter_all(archive_);
    archive_read_support_format_raw(archive_);
    if (archive_read_open(archive_, &input_, nullptr, ArchiveInput::Read, nullptr) != ARCHIVE_OK) {
      return Error();
    }
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(archive_, &entry);
    if (rc == ARCHIVE_EOF) {
      done_ = true;
      return absl::OkStatus();
    }
    if (rc < ARCHIVE_WARN) return Error();
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    if (done_) return 0;
    la_ssize_t count = archive_read_data(archive_, buffer, n);
    if (count < 0) return Error();
    if (count == 0) done_ = true;
    return static_cast<size_t>(count);
  }

 private:
  absl::Status Error() { return input_.Error(archive_, "decompressing layer"); }

  struct archive* archive_;
  std::unique_ptr<ByteSource> source_;
  ArchiveInput input_;
  bool done_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ByteSource>> Decompress(std::unique_ptr<ByteSource> source) {
  auto decompressing = std::make_unique<DecompressingSource>(std::move(source));
  RETURN_IF_ERROR(decompressing->Open());
  return decompressing;
}

absl::StatusOr<StreamDigest> DigestStream(ByteSource& source) {
  Sha256 hasher;
  StreamDigest result;
  std::vector<char> buffer(1 << 16);
  while (true) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    hasher.Update(buffer.data(), n);
    result.size += static_cast<int64_t>(n);
  }
  result.digest = hasher.Finish();
  return result;
}

}  // namespace berth::imaged
