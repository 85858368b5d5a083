// Times ExtractLayer on a layer file, the way stored runs it (a plain tar or
// a compressed one, 1 MiB chunks, syncfs at the end), so that changes to the
// extractor can be measured without the daemons:
//   extract_bench LAYER DEST [RUNS]
// DEST must not exist; it is created and removed around each run (kept with
// EXTRACT_BENCH_KEEP=1 and RUNS 1).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "stored/layers/extract.h"

namespace {

class FileSource : public berth::layers::ByteSource {
 public:
  explicit FileSource(int fd) : fd_(fd) {}
  absl::StatusOr<bool> Next(std::string* chunk) override {
    chunk->resize(1 << 20);
    ssize_t n = read(fd_, chunk->data(), chunk->size());
    if (n < 0) return absl::InternalError("read");
    chunk->resize(static_cast<size_t>(n));
    return n > 0;
  }

 private:
  int fd_;
};

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LAYER DEST [RUNS]\n", argv[0]);
    return 2;
  }
  const std::string dest = argv[2];
  const int runs = argc > 3 ? atoi(argv[3]) : 1;
  for (int run = 0; run < runs; ++run) {
    berth::UniqueFd fd(open(argv[1], O_RDONLY | O_CLOEXEC));
    if (!fd.valid() || mkdir(dest.c_str(), 0755) != 0) {
      perror("setup");
      return 1;
    }
    auto start = std::chrono::steady_clock::now();
    FileSource source(fd.get());
    auto result = berth::layers::ExtractLayer(source, dest, {});
    double extracted = Seconds(start);
    berth::UniqueFd dir(open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    syncfs(dir.get());
    double synced = Seconds(start);
    if (!result.ok()) {
      fprintf(stderr, "%s\n", result.status().ToString().c_str());
      return 1;
    }
    printf("extract %.3f s, with syncfs %.3f s, %lld bytes, %s\n", extracted, synced,
           static_cast<long long>(result->size), result->diff_id.c_str());
    // EXTRACT_BENCH_KEEP=1 keeps the result: on ext4 without a journal, files
    // deleted in the last minutes slow down creating new ones.
    if (getenv("EXTRACT_BENCH_KEEP") == nullptr) (void)berth::RemoveAll(dest);
  }
  return 0;
}
