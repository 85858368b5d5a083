#include "stored/layers/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/layers/safe_path.h"
#include "stored/layers/whiteout.h"

namespace berth::layers {
namespace {

constexpr size_t kBlockSize = 64 * 1024;

struct ArchiveDeleter {
  void operator()(archive* a) const {
    // archive_read_free / archive_write_free both dispatch on the handle.
    archive_free(a);
  }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

std::string ArchiveError(archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown archive error";
}

// Stage 1: the bytes as sent, decompressed by libarchive's filters (it
// detects gzip, zstd, xz, bzip2 or none) and read through the "raw" format.
struct CompressedInput {
  ByteSource* source;
  std::string chunk;
  absl::Status status;
};

la_ssize_t ReadCompressed(archive*, void* data, const void** buffer) {
  auto* input = static_cast<CompressedInput*>(data);
  auto more = input->source->Next(&input->chunk);
  if (!more.ok()) {
    input->status = more.status();
    return -1;
  }
  if (!*more) return 0;
  *buffer = input->chunk.data();
  return static_cast<la_ssize_t>(input->chunk.size());
}

// Stage 2: the uncompressed tar, hashed as it passes on its way to the tar
// reader, so the digest covers exactly the bytes the diff ID names.
struct TarInput {
  archive* raw;
  Sha256 hash;
  char buffer[kBlockSize];
  std::string error;
};

la_ssize_t ReadTar(archive*, void* data, const void** buffer) {
  auto* input = static_cast<TarInput*>(data);
  la_ssize_t n = archive_read_data(input->raw, input->buffer, sizeof(input->buffer));
  if (n < 0) {
    input->error = ArchiveError(input->raw);
    return -1;
  }
  input->hash.Update(input->buffer, static_cast<size_t>(n));
  *buffer = input->buffer;
  return n;
}

class Extractor {
 public:
  Extractor(ByteSource& source, const ExtractOptions& options)
      : options_(options), compressed_{&source, {}, {}} {}

  // Runs on a thread with its own cwd (see ExtractLayer).
  absl::StatusOr<ExtractResult> Run(int root_fd) {
    root_fd_ = root_fd;
    raw_.reset(archive_read_new());
    archive_read_support_filter_all(raw_.get());
    archive_read_support_format_raw(raw_.get());
    if (archive_read_open(raw_.get(), &compressed_, nullptr, ReadCompressed, nullptr) !=
        ARCHIVE_OK) {
      return InputError(raw_.get(), "cannot read layer");
    }
    archive_entry* raw_entry = nullptr;
    int rc = archive_read_next_header(raw_.get(), &raw_entry);
    if (rc == ARCHIVE_EOF) return absl::InvalidArgumentError("invalid layer: empty stream");
    if (rc < ARCHIVE_WARN) return InputError(raw_.get(), "cannot decompress layer");

    tar_input_ = std::make_unique<TarInput>();
    tar_input_->raw = raw_.get();
    tar_.reset(archive_read_new());
    archive_read_support_format_tar(tar_.get());
    if (archive_read_open(tar_.get(), tar_input_.get(), nullptr, ReadTar, nullptr) != ARCHIVE_OK) {
      return InputError(tar_.get(), "invalid layer tar");
    }

    disk_.reset(archive_write_disk_new());
    // Numeric owners only (no name lookups): the IDs in the tar are what the
    // container sees. Permissions are restored exactly, ignoring the umask.
    archive_write_disk_set_options(
        disk_.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                         ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_FFLAGS |
                         ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                         ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);

    ExtractResult result;
    while (true) {
      archive_entry* entry = nullptr;
      rc = archive_read_next_header(tar_.get(), &entry);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return InputError(tar_.get(), "invalid layer tar");
      RETURN_IF_ERROR(ExtractEntry(entry, &result));
    }
    // Directory times are fixed up here, after their contents were written.
    if (archive_write_close(disk_.get()) != ARCHIVE_OK) {
      return absl::InternalError("finish layer extraction: " + ArchiveError(disk_.get()));
    }
    // The tar reader stops at the end-of-archive blocks; the diff ID also
    // covers whatever padding follows them.
    char drain[kBlockSize];
    la_ssize_t n;
    while ((n = archive_read_data(raw_.get(), drain, sizeof(drain))) > 0) {
      tar_input_->hash.Update(drain, static_cast<size_t>(n));
    }
    if (n < 0) return InputError(raw_.get(), "cannot decompress layer");
    result.diff_id = tar_input_->hash.Finish();
    if (!options_.expected_diff_id.empty() && result.diff_id != options_.expected_diff_id) {
      return absl::InvalidArgumentError(absl::StrCat(
          "layer digest mismatch: expected ", options_.expected_diff_id, ", got ", result.diff_id));
    }
    return result;
  }

 private:
  // Errors of the source (e.g. the client went away) win over the archive
  // error they caused.
  absl::Status InputError(archive* a, const std::string& context) {
    if (!compressed_.status.ok()) return compressed_.status;
    if (tar_input_ != nullptr && !tar_input_->error.empty()) {
      return absl::InvalidArgumentError(context + ": " + tar_input_->error);
    }
    return absl::InvalidArgumentError(context + ": " + ArchiveError(a));
  }

  absl::Status ExtractEntry(archive_entry* entry, ExtractResult* result) {
    const char* raw_name = archive_entry_pathname(entry);
    ASSIGN_OR_RETURN(std::vector<std::string> components,
                     CleanEntryPath(raw_name != nullptr ? raw_name : ""));
    if (components.empty()) return ApplyRootAttributes(entry);

    const std::string& base = components.back();
    const size_t parent_count = components.size() - 1;
    switch (ClassifyWhiteout(base)) {
      case WhiteoutKind::kMeta:
        return absl::OkStatus();
      case WhiteoutKind::kOpaque: {
        ASSIGN_OR_RETURN(UniqueFd dir,
                         OpenDirBeneath(root_fd_, components, parent_count, options_.lower_dirs));
        return MarkOverlayOpaque(dir.get());
      }
      case WhiteoutKind::kFile: {
        std::string hidden = base.substr(sizeof(kWhiteoutPrefix) - 1);
        ASSIGN_OR_RETURN(UniqueFd dir,
                         OpenDirBeneath(root_fd_, components, parent_count, options_.lower_dirs));
        return CreateOverlayWhiteout(dir.get(), hidden);
      }
      case WhiteoutKind::kNone:
        break;
    }

    // Parents are created here rather than by libarchive so that they are
    // checked for symlinks and get the lower layer's attributes.
    RETURN_IF_ERROR(
        OpenDirBeneath(root_fd_, components, parent_count, options_.lower_dirs).status());
    const std::string path = JoinComponents(components, components.size());
    archive_entry_set_pathname(entry, path.c_str());

    const char* link = archive_entry_hardlink(entry);
    if (link != nullptr) {
      ASSIGN_OR_RETURN(std::vector<std::string> target, CleanEntryPath(link));
      if (target.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("layer entry \"", path, "\" is a hard link to the layer root"));
      }
      RETURN_IF_ERROR(OpenDirBeneath(root_fd_, target, target.size() - 1, {}).status());
      const std::string target_path = JoinComponents(target, target.size());
      archive_entry_set_hardlink(entry, target_path.c_str());
    }

    if (archive_write_header(disk_.get(), entry) < ARCHIVE_WARN) {
      return absl::InvalidArgumentError(
          absl::StrCat("extract \"", path, "\": ", ArchiveError(disk_.get())));
    }
    if (link == nullptr && archive_entry_filetype(entry) == AE_IFREG) {
      RETURN_IF_ERROR(CopyData(path));
      result->size += archive_entry_size(entry);
    }
    if (archive_write_finish_entry(disk_.get()) < ARCHIVE_WARN) {
      return absl::InvalidArgumentError(
          absl::StrCat("extract \"", path, "\": ", ArchiveError(disk_.get())));
    }
    return absl::OkStatus();
  }

  absl::Status CopyData(const std::string& path) {
    const void* block;
    size_t size;
    la_int64_t offset;
    while (true) {
      int rc = archive_read_data_block(tar_.get(), &block, &size, &offset);
      if (rc == ARCHIVE_EOF) return absl::OkStatus();
      if (rc < ARCHIVE_WARN) return InputError(tar_.get(), "invalid layer tar");
      if (archive_write_data_block(disk_.get(), block, size, offset) < ARCHIVE_WARN) {
        return absl::InternalError(
            absl::StrCat("write \"", path, "\": ", ArchiveError(disk_.get())));
      }
    }
  }

  // The "./" entry describes the layer root itself, which already exists.
  absl::Status ApplyRootAttributes(archive_entry* entry) {
    if (archive_entry_filetype(entry) != AE_IFDIR) {
      return absl::InvalidArgumentError("layer entry for the root is not a directory");
    }
    if (fchown(root_fd_, static_cast<uid_t>(archive_entry_uid(entry)),
               static_cast<gid_t>(archive_entry_gid(entry))) != 0) {
      return LastErrnoStatus("chown layer root");
    }
    if (fchmod(root_fd_, archive_entry_perm(entry)) != 0) {
      return LastErrnoStatus("chmod layer root");
    }
    return absl::OkStatus();
  }

  const ExtractOptions& options_;
  int root_fd_ = -1;
  CompressedInput compressed_;
  std::unique_ptr<TarInput> tar_input_;
  ArchivePtr raw_;
  ArchivePtr tar_;
  ArchivePtr disk_;
};

}  // namespace

absl::StatusOr<bool> StringSource::Next(std::string* chunk) {
  if (offset_ >= data_.size()) return false;
  size_t n = std::min(chunk_size_, data_.size() - offset_);
  chunk->assign(data_, offset_, n);
  offset_ += n;
  return true;
}

absl::StatusOr<ExtractResult> ExtractLayer(ByteSource& source, const std::string& dest,
                                           const ExtractOptions& options) {
  absl::StatusOr<ExtractResult> result = absl::InternalError("extraction did not run");
  // libarchive resolves entry names against the working directory (that is
  // what lets ARCHIVE_EXTRACT_SECURE_* confine them), and the working
  // directory is process-wide. A fresh thread that unshares its fs_struct
  // gets a cwd and umask of its own without disturbing the daemon's threads.
  std::thread worker([&] {
    if (unshare(CLONE_FS) != 0) {
      result = LastErrnoStatus("unshare(CLONE_FS)");
      return;
    }
    UniqueFd root(open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) {
      result = LastErrnoStatus("open " + dest);
      return;
    }
    if (fchdir(root.get()) != 0) {
      result = LastErrnoStatus("chdir " + dest);
      return;
    }
    umask(0);
    Extractor extractor(source, options);
    result = extractor.Run(root.get());
  });
  worker.join();
  return result;
}

}  // namespace berth::layers
