#include "imaged/content_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/ids.h"
#include "common/reference.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

constexpr size_t kHeadSize = 16;

// A file or (with O_DIRECTORY) a directory made durable.
absl::Status Fsync(const std::string& path, int flags = 0) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return LastErrnoStatus("open " + path);
  absl::Status status = fsync(fd) == 0 ? absl::OkStatus() : LastErrnoStatus("fsync " + path);
  close(fd);
  return status;
}

absl::Status CheckDigest(const std::string& digest) {
  if (!IsSha256Digest(digest)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid digest \"", digest, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ByteSource>> OpenForReading(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  return std::unique_ptr<ByteSource>(std::make_unique<FdSource>(fd));
}

class FileContentWriter : public ContentWriter {
 public:
  FileContentWriter(int fd, std::string staged_path, const FileContentStore* store)
      : fd_(fd), staged_path_(std::move(staged_path)), store_(store) {}

  ~FileContentWriter() override {
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(staged_path_.c_str());
  }

  absl::Status Write(absl::string_view data) override {
    if (fd_ < 0) return absl::FailedPreconditionError("content writer is finished");
    if (head_.size() < kHeadSize) {
      head_.append(data.data(), std::min(data.size(), kHeadSize - head_.size()));
    }
    hasher_.Update(data.data(), data.size());
    size_ += static_cast<int64_t>(data.size());
    return WriteFull(fd_, data.data(), data.size());
  }

  absl::StatusOr<std::string> Finish() override {
    if (fd_ >= 0) {
      int fd = fd_;
      fd_ = -1;
      // Write-back is only started here; Commit waits for it. A load
      // spools every file of its archive before it commits any, and the
      // write-back then overlaps the rest of its work instead of stopping
      // the reception. A hint: where it fails, Commit's fsync does it all.
      sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      if (close(fd) != 0) return LastErrnoStatus("close " + staged_path_);
      digest_ = hasher_.Finish();
    }
    return digest_;
  }

  int64_t size() const override { return size_; }
  const std::string& head() const override { return head_; }

  absl::Status Commit(const std::string& expected) override {
    if (committed_) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::string digest, Finish());
    if (!expected.empty() && digest != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("digest mismatch: expected ", expected, ", got ", digest));
    }
    std::string target = store_->BlobPath(digest);
    if (PathExists(target)) {
      // Same digest, same content: keep the blob already there.
      unlink(staged_path_.c_str());
    } else {
      // Durable before it is visible. An fsync through a new descriptor
      // still reports a write-back error that nobody has seen.
      RETURN_IF_ERROR(Fsync(staged_path_));
      if (rename(staged_path_.c_str(), target.c_str()) != 0) {
        return LastErrnoStatus("rename " + staged_path_);
      }
      RETURN_IF_ERROR(Fsync(target.substr(0, target.rfind('/')), O_DIRECTORY));
    }
    committed_ = true;
    committed_path_ = target;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadBack() override {
    return ReadFile(committed_ ? committed_path_ : staged_path_);
  }

  absl::StatusOr<std::unique_ptr<ByteSource>> Open() override {
    RETURN_IF_ERROR(Finish().status());
    return OpenForReading(committed_ ? committed_path_ : staged_path_);
  }

 private:
  int fd_;
  std::string staged_path_;
  std::string committed_path_;
  const FileContentStore* store_;
  Sha256 hasher_;
  std::string digest_;
  std::string head_;
  int64_t size_ = 0;
  bool committed_ = false;
};

// A verified file taken over from its writer (see ContentStore::Adopt).
class AdoptedWriter : public ContentWriter {
 public:
  AdoptedWriter(std::string path, std::string digest, int64_t size, std::string head,
                const FileContentStore* store)
      : path_(std::move(path)),
        digest_(std::move(digest)),
        size_(size),
        head_(std::move(head)),
        store_(store) {}

  absl::Status Write(absl::string_view) override {
    return absl::FailedPreconditionError("an adopted blob cannot be written to");
  }
  absl::StatusOr<std::string> Finish() override { return digest_; }
  int64_t size() const override { return size_; }
  const std::string& head() const override { return head_; }

  absl::Status Commit(const std::string& expected) override {
    if (committed_) return absl::OkStatus();
    if (!expected.empty() && digest_ != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("digest mismatch: expected ", expected, ", got ", digest_));
    }
    std::string target = store_->BlobPath(digest_);
    if (PathExists(target)) {
      unlink(path_.c_str());
    } else {
      if (rename(path_.c_str(), target.c_str()) != 0) return LastErrnoStatus("rename " + path_);
      RETURN_IF_ERROR(Fsync(target.substr(0, target.rfind('/')), O_DIRECTORY));
    }
    committed_ = true;
    path_ = target;
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadBack() override { return ReadFile(path_); }
  absl::StatusOr<std::unique_ptr<ByteSource>> Open() override { return OpenForReading(path_); }

 private:
  std::string path_;
  std::string digest_;
  int64_t size_;
  std::string head_;
  const FileContentStore* store_;
  bool committed_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ContentWriter>> ContentStore::Adopt(const std::string& path,
                                                                   const std::string& digest) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  FdSource source(fd);
  ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, NewWriter());
  std::string buffer(1 << 20, '\0');
  while (true) {
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) break;
    RETURN_IF_ERROR(writer->Write(absl::string_view(buffer.data(), n)));
  }
  ASSIGN_OR_RETURN(std::string actual, writer->Finish());
  if (actual != digest) {
    return absl::InvalidArgumentError(
        absl::StrCat("digest mismatch: expected ", digest, ", got ", actual));
  }
  return writer;
}

absl::StatusOr<std::unique_ptr<ContentWriter>> FileContentStore::Adopt(const std::string& path,
                                                                       const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  char head[kHeadSize];
  ssize_t n = pread(fd, head, sizeof(head), 0);
  struct stat info;
  bool ok = n >= 0 && fstat(fd, &info) == 0;
  int err = errno;
  close(fd);
  if (!ok) return ErrnoStatus(err, "read " + path);
  return std::make_unique<AdoptedWriter>(path, digest, static_cast<int64_t>(info.st_size),
                                         std::string(head, static_cast<size_t>(n)), this);
}

absl::StatusOr<std::string> ContentStore::WriteBlob(absl::string_view data) {
  ASSIGN_OR_RETURN(std::unique_ptr<ContentWriter> writer, NewWriter());
  RETURN_IF_ERROR(writer->Write(data));
  ASSIGN_OR_RETURN(std::string digest, writer->Finish());
  RETURN_IF_ERROR(writer->Commit(digest));
  return digest;
}

FileContentStore::FileContentStore(std::string root)
    : blobs_dir_(root + "/blobs/sha256"), ingest_dir_(root + "/ingest") {}

absl::StatusOr<std::unique_ptr<FileContentStore>> FileContentStore::Open(const std::string& root) {
  std::unique_ptr<FileContentStore> store(new FileContentStore(root));
  RETURN_IF_ERROR(MakeDirs(store->blobs_dir_, 0755));
  // Anything in ingest/ is a write that never committed (we crashed while
  // writing, or before discarding it): it can never become visible.
  if (PathExists(store->ingest_dir_)) RETURN_IF_ERROR(RemoveAll(store->ingest_dir_));
  RETURN_IF_ERROR(MakeDirs(store->ingest_dir_, 0700));
  return store;
}

std::string FileContentStore::BlobPath(const std::string& digest) const {
  return blobs_dir_ + "/" + std::string(DigestHex(digest));
}

absl::StatusOr<std::unique_ptr<ContentWriter>> FileContentStore::NewWriter() {
  std::string path = ingest_dir_ + "/" + GenerateId().substr(0, 32);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return LastErrnoStatus("create " + path);
  return std::make_unique<FileContentWriter>(fd, path, this);
}

absl::StatusOr<std::string> FileContentStore::ReadBlob(const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  auto content = ReadFile(BlobPath(digest));
  if (!content.ok() && absl::IsNotFound(content.status())) {
    return absl::NotFoundError(absl::StrCat("blob ", digest, " not found"));
  }
  return content;
}

absl::StatusOr<std::unique_ptr<ByteSource>> FileContentStore::OpenBlob(const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  std::string path = BlobPath(digest);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", digest, " not found"));
    return LastErrnoStatus("open " + path);
  }
  return std::make_unique<FdSource>(fd);
}

absl::StatusOr<int64_t> FileContentStore::BlobSize(const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  std::string path = BlobPath(digest);
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("blob ", digest, " not found"));
    return LastErrnoStatus("stat " + path);
  }
  return static_cast<int64_t>(st.st_size);
}

bool FileContentStore::Exists(const std::string& digest) {
  return IsSha256Digest(digest) && PathExists(BlobPath(digest));
}

absl::Status FileContentStore::Delete(const std::string& digest) {
  RETURN_IF_ERROR(CheckDigest(digest));
  std::string path = BlobPath(digest);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return LastErrnoStatus("unlink " + path);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FileContentStore::List() {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirectory(blobs_dir_));
  std::vector<std::string> digests;
  for (const std::string& name : names) {
    if (IsFullHexId(name)) digests.push_back("sha256:" + name);
  }
  return digests;
}

}  // namespace berth::imaged
