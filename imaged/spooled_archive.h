// The files of a tar archive that arrives as a stream, each spooled into a
// content-store writer (staged under ingest/, hashed as it is written). A
// docker-archive's manifest.json may come after the layers it names, so
// nothing can be interpreted before the whole archive has been read; the
// writers then let the loader commit exactly the files it needs, verified,
// without copying them again. Files not committed vanish with the archive.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "imaged/byte_source.h"
#include "imaged/content_store.h"

namespace berth::imaged {

class SpooledArchive {
 public:
  // Reads the whole tar (plain or compressed) from source. InvalidArgument
  // for a malformed or truncated archive, or a path that leaves the archive.
  static absl::StatusOr<std::unique_ptr<SpooledArchive>> Read(ByteSource& source,
                                                              ContentStore& content);

  // The regular file at path ("./" and "//" tolerated), following symlinks
  // and hard links within the archive; nullptr when absent.
  ContentWriter* Find(const std::string& path) const;
  bool Contains(const std::string& path) const { return Find(path) != nullptr; }

 private:
  SpooledArchive() = default;
  std::map<std::string, std::unique_ptr<ContentWriter>> files_;
  // Link path -> cleaned target path, both relative to the archive root.
  std::map<std::string, std::string> links_;
};

// Normalises a path inside an archive: drops "." and empty components,
// resolves ".." and strips leading "/". InvalidArgument when ".." would leave
// the root.
absl::StatusOr<std::string> CleanArchivePath(const std::string& path);

}  // namespace berth::imaged
