#include "imaged/registry/blob_downloads.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::imaged::registry {
namespace {

constexpr char kPartialSuffix[] = ".partial";
constexpr size_t kHashBuffer = 1 << 20;

bool IsHex64(absl::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  absl::Status status = fsync(fd) == 0 ? absl::OkStatus() : LastErrnoStatus("fsync " + path);
  close(fd);
  return status;
}

// Size of the file at path, -1 when there is none.
int64_t FileSize(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) return -1;
  return static_cast<int64_t>(info.st_size);
}

// Hashes the first `length` bytes of fd into hasher.
absl::Status HashPrefix(int fd, int64_t length, Sha256& hasher) {
  std::vector<char> buffer(kHashBuffer);
  int64_t done = 0;
  while (done < length) {
    size_t want = static_cast<size_t>(std::min<int64_t>(length - done, kHashBuffer));
    ssize_t n = pread(fd, buffer.data(), want, done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return LastErrnoStatus("read of a partial download");
    }
    if (n == 0) return absl::DataLossError("a partial download shrank while it was read");
    hasher.Update(buffer.data(), static_cast<size_t>(n));
    done += n;
  }
  return absl::OkStatus();
}

bool Transient(const absl::Status& status) {
  return !absl::IsCancelled(status) && (absl::IsUnavailable(status) || absl::IsInternal(status));
}

}  // namespace

absl::StatusOr<std::unique_ptr<BlobDownloads>> BlobDownloads::Open(const std::string& dir,
                                                                   int64_t expiry_seconds) {
  RETURN_IF_ERROR(MakeDirs(dir, 0700));
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(dir));
  const time_t now = time(nullptr);
  for (const std::string& name : names) {
    absl::string_view hex(name);
    absl::ConsumeSuffix(&hex, kPartialSuffix);
    std::string path = dir + "/" + name;
    struct stat info;
    if (lstat(path.c_str(), &info) != 0) continue;
    bool ours = IsHex64(hex) && S_ISREG(info.st_mode);
    if (ours && now - info.st_mtime <= expiry_seconds) continue;
    spdlog::info("removing {} download {}", ours ? "an expired" : "a stray", path);
    RETURN_IF_ERROR(RemoveAll(path));
  }
  return std::unique_ptr<BlobDownloads>(new BlobDownloads(dir));
}

std::string BlobDownloads::VerifiedPath(const std::string& digest) const {
  return absl::StrCat(dir_, "/", std::string(DigestHex(digest)));
}

std::string BlobDownloads::PartialPath(const std::string& digest) const {
  return absl::StrCat(dir_, "/", std::string(DigestHex(digest)), kPartialSuffix);
}

std::shared_ptr<std::mutex> BlobDownloads::LockFor(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::shared_ptr<std::mutex> held = locks_[digest].lock();
  if (held == nullptr) {
    held = std::make_shared<std::mutex>();
    locks_[digest] = held;
  }
  // Forget the digests nobody downloads any more.
  for (auto it = locks_.begin(); it != locks_.end();) {
    it = it->second.expired() ? locks_.erase(it) : std::next(it);
  }
  return held;
}

void BlobDownloads::Discard(const std::string& digest) {
  if (!IsSha256Digest(digest)) return;
  unlink(PartialPath(digest).c_str());
  unlink(VerifiedPath(digest).c_str());
}

absl::Status BlobDownloads::Attempt(RegistryClient& client, const std::string& repository,
                                    const Descriptor& blob, const OnBytes& on_bytes, bool* grew,
                                    std::string* digest) {
  const std::string path = PartialPath(blob.digest);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return LastErrnoStatus("create " + path);
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat info;
  if (fstat(fd, &info) != 0) return LastErrnoStatus("stat " + path);
  const int64_t had = static_cast<int64_t>(info.st_size);
  int64_t length = had;
  if (length > blob.size) {
    // Cannot be the start of this blob.
    if (ftruncate(fd, 0) != 0) return LastErrnoStatus("truncate " + path);
    length = 0;
  }
  auto hasher = std::make_unique<Sha256>();
  RETURN_IF_ERROR(HashPrefix(fd, length, *hasher));
  // The whole blob is here (we stopped between its last byte and its rename).
  if (length == blob.size && length > 0) {
    *digest = hasher->Finish();
    return absl::OkStatus();
  }

  int64_t start = 0;
  bool started = false;
  int64_t held = length;
  BodySink sink = [&](absl::string_view data) -> absl::Status {
    if (!started) {
      started = true;
      if (start != length) {
        // The registry sent the whole blob instead of the rest.
        if (ftruncate(fd, 0) != 0) return LastErrnoStatus("truncate " + path);
        held = 0;
        hasher = std::make_unique<Sha256>();
      }
    }
    if (held + static_cast<int64_t>(data.size()) > blob.size) {
      return absl::InvalidArgumentError(absl::StrCat("blob ", blob.digest, " is larger than the ",
                                                     blob.size, " bytes its manifest says"));
    }
    ssize_t n;
    size_t done = 0;
    while (done < data.size()) {
      n = pwrite(fd, data.data() + done, data.size() - done, held + static_cast<int64_t>(done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return LastErrnoStatus("write " + path);
      }
      done += static_cast<size_t>(n);
    }
    hasher->Update(data.data(), data.size());
    held += static_cast<int64_t>(data.size());
    if (held > had) *grew = true;
    if (!on_bytes(held)) return absl::CancelledError("cancelled: the client went away");
    return absl::OkStatus();
  };
  absl::Status status = client.FetchBlobFrom(repository, blob.digest, length, &start, sink);
  if (!status.ok()) return status;
  if (held != blob.size) {
    return absl::UnavailableError(absl::StrCat("blob ", blob.digest, " was truncated: got ", held,
                                               " of ", blob.size, " bytes"));
  }
  *digest = hasher->Finish();
  return absl::OkStatus();
}

absl::Status BlobDownloads::Verify(const Descriptor& blob, const std::string& digest) {
  const std::string path = PartialPath(blob.digest);
  if (digest != blob.digest) {
    unlink(path.c_str());
    return absl::InvalidArgumentError(absl::StrCat(
        "filesystem layer verification failed for digest ", blob.digest, ": got ", digest));
  }
  RETURN_IF_ERROR(FsyncPath(path, O_RDONLY));
  std::string target = VerifiedPath(blob.digest);
  if (rename(path.c_str(), target.c_str()) != 0) return LastErrnoStatus("rename " + path);
  return FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::string> BlobDownloads::Fetch(RegistryClient& client,
                                                 const std::string& repository,
                                                 const Descriptor& blob, const RetryPolicy& retry,
                                                 const OnBytes& on_bytes) {
  if (!IsSha256Digest(blob.digest)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid blob digest \"", blob.digest, "\""));
  }
  std::shared_ptr<std::mutex> blob_lock = LockFor(blob.digest);
  std::lock_guard<std::mutex> lock(*blob_lock);
  const std::string verified = VerifiedPath(blob.digest);
  if (FileSize(verified) == blob.size) {
    // Touched so that expiry counts from its last use.
    utimensat(AT_FDCWD, verified.c_str(), nullptr, 0);
    on_bytes(blob.size);
    return verified;
  }
  unlink(verified.c_str());

  int backoff_ms = retry.first_backoff_ms;
  int failures = 0;
  // Progress alone does not keep a registry that cuts every answer short
  // retrying forever.
  int attempts_left = retry.attempts * 4;
  bool restarted = false;
  while (true) {
    --attempts_left;
    const bool resumed = FileSize(PartialPath(blob.digest)) > 0;
    bool grew = false;
    std::string digest;
    absl::Status status = Attempt(client, repository, blob, on_bytes, &grew, &digest);
    if (status.ok()) {
      status = Verify(blob, digest);
      if (status.ok()) return verified;
      // Bytes kept from an earlier attempt may be what is wrong (written
      // before a crash of the machine): one more try from the first byte.
      if (absl::IsInvalidArgument(status) && resumed && !restarted) {
        spdlog::warn("{}; downloading {} again from its start", status.ToString(), blob.digest);
        restarted = true;
        continue;
      }
      return status;
    }
    if (absl::IsInvalidArgument(status)) {
      unlink(PartialPath(blob.digest).c_str());
      return status;
    }
    if (!Transient(status)) return status;
    if (!grew) ++failures;
    if (failures >= retry.attempts || attempts_left <= 0) {
      if (absl::IsUnavailable(status)) return absl::InternalError(status.message());
      return status;
    }
    spdlog::info("retrying the download of {} ({})", blob.digest, status.ToString());
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
    if (!grew) backoff_ms *= 2;
  }
}

}  // namespace berth::imaged::registry
