// The content-addressed blob store (as containerd's content store): blobs
// live at <root>/blobs/sha256/<hex>. A write is staged in <root>/ingest/,
// hashed while it is written, fsynced, and renamed into place only after its
// digest has been verified, so a blob that is visible is always complete and
// correct, also after a crash. Whatever a crash leaves in ingest/ is removed
// when the store is opened.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

class ContentWriter {
 public:
  // Discards the staged data unless it was committed.
  virtual ~ContentWriter() = default;
  virtual absl::Status Write(absl::string_view data) = 0;
  // Ends the write (closes it and starts its write-back; Commit waits for
  // that) and returns "sha256:<hex>" of the content. Calling it again
  // returns the same digest.
  virtual absl::StatusOr<std::string> Finish() = 0;
  virtual int64_t size() const = 0;
  // The first bytes written (up to 16), to recognise compressed data.
  virtual const std::string& head() const = 0;
  // Finishes the write, verifies that the digest is `expected` (any digest
  // when empty), makes it durable (fsync) and then visible. InvalidArgument on a mismatch,
  // and the staged data is discarded. Committing again is a no-op.
  virtual absl::Status Commit(const std::string& expected) = 0;
  // The content written so far, read back (for small files such as configs).
  virtual absl::StatusOr<std::string> ReadBack() = 0;
  // A reader of the finished content, committed or not: a pull applies a
  // layer from its verified download while the blob stays uncommitted (kept
  // for a resumed pull if the image is never committed).
  virtual absl::StatusOr<std::unique_ptr<ByteSource>> Open() = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;
  virtual absl::StatusOr<std::unique_ptr<ContentWriter>> NewWriter() = 0;
  // The whole blob; NotFound when absent.
  virtual absl::StatusOr<std::string> ReadBlob(const std::string& digest) = 0;
  virtual absl::StatusOr<std::unique_ptr<ByteSource>> OpenBlob(const std::string& digest) = 0;
  virtual bool Exists(const std::string& digest) = 0;
  // Size in bytes; NotFound when absent.
  virtual absl::StatusOr<int64_t> BlobSize(const std::string& digest) = 0;
  // Deleting an absent blob is not an error.
  virtual absl::Status Delete(const std::string& digest) = 0;
  // Digests of every visible blob.
  virtual absl::StatusOr<std::vector<std::string>> List() = 0;
  // Convenience: writes data and commits it under its own digest.
  absl::StatusOr<std::string> WriteBlob(absl::string_view data);
  // A writer over a file someone else wrote and verified to hold `digest`
  // (a pull's download, kept across restarts so that pulls resume): Commit
  // moves it into the store. Uncommitted, the file stays where it is. This
  // default copies it through NewWriter, which verifies it again.
  virtual absl::StatusOr<std::unique_ptr<ContentWriter>> Adopt(const std::string& path,
                                                               const std::string& digest);
};

class FileContentStore : public ContentStore {
 public:
  // Creates <root>/blobs/sha256 and <root>/ingest and empties ingest/.
  static absl::StatusOr<std::unique_ptr<FileContentStore>> Open(const std::string& root);

  absl::StatusOr<std::unique_ptr<ContentWriter>> NewWriter() override;
  absl::StatusOr<std::string> ReadBlob(const std::string& digest) override;
  absl::StatusOr<std::unique_ptr<ByteSource>> OpenBlob(const std::string& digest) override;
  bool Exists(const std::string& digest) override;
  absl::StatusOr<int64_t> BlobSize(const std::string& digest) override;
  absl::Status Delete(const std::string& digest) override;
  absl::StatusOr<std::vector<std::string>> List() override;
  // A rename into blobs/ at Commit; path must be on the store's file system.
  absl::StatusOr<std::unique_ptr<ContentWriter>> Adopt(const std::string& path,
                                                       const std::string& digest) override;

  std::string BlobPath(const std::string& digest) const;
  const std::string& ingest_dir() const { return ingest_dir_; }

 private:
  explicit FileContentStore(std::string root);
  std::string blobs_dir_;
  std::string ingest_dir_;
};

}  // namespace berth::imaged
