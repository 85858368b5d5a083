#include "imaged/build_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

// The docker CLI sends `build -f <file outside the context>` as a tar whose
// last entry is not padded and that has no end-of-archive blocks (Go's tar
// reader in dockerd takes that). An uncompressed context is completed here
// so that libarchive reads it too; zero blocks after a complete tar are
// harmless.
class CompletedTar : public ByteSource {
 public:
  explicit CompletedTar(ByteSource& inner) : inner_(inner) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    if (padding_left_ < 0) {
      ASSIGN_OR_RETURN(size_t got, inner_.Read(buffer, n));
      if (total_ == 0 && got > 0) {
        const unsigned char c = static_cast<unsigned char>(buffer[0]);
        // gzip, bzip2, xz, zstd magic: compressed, left alone.
        compressed_ = c == 0x1f || c == 'B' || c == 0xfd || c == 0x28;
      }
      total_ += got;
      if (got > 0 || compressed_) return got;
      padding_left_ = static_cast<int64_t>((512 - total_ % 512) % 512) + 1024;
    }
    size_t count = std::min(n, static_cast<size_t>(padding_left_));
    std::fill(buffer, buffer + count, '\0');
    padding_left_ -= static_cast<int64_t>(count);
    return count;
  }

 private:
  ByteSource& inner_;
  uint64_t total_ = 0;
  bool compressed_ = false;
  int64_t padding_left_ = -1;
};

}  // namespace

absl::Status BuildService::CleanUp() {
  RETURN_IF_ERROR(RemoveAll(work_root_));
  return MakeDirs(work_root_, 0700);
}

absl::Status BuildService::Build(const BuildParams& params, ByteSource& context, const Sink& sink) {
  build::BuildOutput output(sink, params.quiet);
  const std::string dir = absl::StrCat(work_root_, "/", GenerateId().substr(0, 16));
  CompletedTar completed(context);
  auto run = [&]() -> absl::Status {
    RETURN_IF_ERROR(MakeDirs(dir + "/context", 0700));
    RETURN_IF_ERROR(MakeDirs(dir + "/scratch", 0700));
    absl::StatusOr<std::unique_ptr<build::BuildContext>> tree =
        build::BuildContext::Extract(completed, dir + "/context");
    if (!tree.ok()) return output.Error(std::string(tree.status().message()));
    absl::StatusOr<std::string> dockerfile =
        (*tree)->ReadDockerfile(params.dockerfile.empty() ? "Dockerfile" : params.dockerfile);
    if (!dockerfile.ok()) return output.Error(std::string(dockerfile.status().message()));

    StoreBaseImages images(store_, distribution_);
    StoreImageWriter writer(store_, content_);
    BlobLayerStore layers(store_, content_, changes_, dir + "/scratch");
    build::Builder::Dependencies deps;
    deps.images = &images;
    deps.runner = runner_;
    deps.layers = &layers;
    deps.writer = &writer;
    deps.cache = cache_;
    deps.now = [] {
      return absl::FormatTime("%Y-%m-%dT%H:%M:%E9SZ", absl::Now(), absl::UTCTimeZone());
    };
    deps.scratch_dir = dir + "/scratch";
    std::unique_ptr<HttpDownloader> downloader;
    if (http_ != nullptr) {
      downloader = std::make_unique<HttpDownloader>(http_);
      deps.downloader = downloader.get();
    }
    build::Builder builder(std::move(deps));
    absl::StatusOr<std::string> id = builder.Build(params.options, *dockerfile, **tree, output);
    if (!id.ok()) SPDLOG_DEBUG("build failed: {}", id.status().ToString());
    return absl::OkStatus();
  };
  absl::Status status = run();
  absl::Status removed = RemoveAll(dir);
  if (!removed.ok()) spdlog::warn("removing build directory {}: {}", dir, removed.ToString());
  return status;
}

}  // namespace berth::imaged
