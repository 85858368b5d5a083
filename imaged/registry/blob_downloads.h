// Blobs of pulls in progress, kept across failed pulls and restarts of imaged
// so that a pull tried again resumes from what it already has (containerd
// keeps its ingests for the same reason). One directory:
//
//   <dir>/<hex>.partial   the first bytes of blob sha256:<hex>, as received
//   <dir>/<hex>           the whole blob, verified (size and digest)
//
// A blob becomes <hex> only by a rename after the whole file was hashed and
// fsynced, so a file of that name is always complete and correct, also after
// a crash. It leaves the directory when the image store takes it (a rename
// into the content store). Files untouched for longer than the expiry are
// removed when the directory is opened: a pull never tried again leaves
// nothing behind for good.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "imaged/registry/client.h"
#include "imaged/registry/manifest.h"

namespace berth::imaged::registry {

class BlobDownloads {
 public:
  // Creates dir if needed; removes expired files and anything that is not a
  // download (a temp file of another version, a stray name).
  static absl::StatusOr<std::unique_ptr<BlobDownloads>> Open(const std::string& dir,
                                                             int64_t expiry_seconds);

  // Bytes of the blob held so far; false from it cancels the download.
  using OnBytes = std::function<bool(int64_t bytes)>;

  // Returns the path of the verified blob: the one kept from an earlier
  // attempt, or one fetched now. A partial file is resumed with a Range
  // request (or restarted when the registry sends the whole blob), and the
  // whole file is hashed before it is accepted. A dropped connection or a 5xx
  // is retried with back-off, from where the transfer stopped; the retry
  // budget is spent by attempts that brought no new byte (and all attempts
  // are at most four times the budget). A digest or
  // size mismatch is InvalidArgument and drops what was kept of the blob.
  // Concurrent calls for one digest wait for each other.
  absl::StatusOr<std::string> Fetch(RegistryClient& client, const std::string& repository,
                                    const Descriptor& blob, const RetryPolicy& retry,
                                    const OnBytes& on_bytes);

  // Removes what is kept of the blob (e.g. when it is stored elsewhere now).
  void Discard(const std::string& digest);

  const std::string& dir() const { return dir_; }
  std::string VerifiedPath(const std::string& digest) const;
  std::string PartialPath(const std::string& digest) const;

 private:
  explicit BlobDownloads(std::string dir) : dir_(std::move(dir)) {}
  // One attempt: appends to the partial file from its current end, or
  // restarts it when the registry ignores the range. Sets *grew when the
  // file got longer than it was.
  // The file is hashed as it is written (and a kept prefix read back first),
  // so *digest is that of the whole file when the attempt succeeds.
  absl::Status Attempt(RegistryClient& client, const std::string& repository,
                       const Descriptor& blob, const OnBytes& on_bytes, bool* grew,
                       std::string* digest);
  // Checks the digest of the complete partial file, fsyncs it and renames it
  // to its verified name.
  absl::Status Verify(const Descriptor& blob, const std::string& digest);
  std::shared_ptr<std::mutex> LockFor(const std::string& digest);

  std::string dir_;
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<std::mutex>> locks_;
};

}  // namespace berth::imaged::registry
