#include "stored/layers/extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <thread>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/layers/dir_cache.h"
#include "stored/layers/parallel_hash.h"
#include "stored/layers/safe_path.h"
#include "stored/layers/whiteout.h"

namespace berth::layers {
namespace {

// Large reads: each block boundary inside a file costs the file a second write.
constexpr size_t kBlockSize = 1024 * 1024;

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
// reader, so the digest covers exactly the bytes the diff ID names. The hash
// runs on a second thread over the same buffers: a buffer is refilled only
// once the hasher is done with it (libarchive itself needs only the latest).
struct TarInput {
  static constexpr size_t kBuffers = 3;

  // Returns the next buffer, free to be overwritten.
  char* NextBuffer() {
    current = (current + 1) % kBuffers;
    hash.Wait(tickets[current]);
    return buffers[current].get();
  }
  // Hands the bytes just read into the current buffer to the hasher.
  void Hash(size_t size) { tickets[current] = hash.Update(buffers[current].get(), size); }

  archive* raw = nullptr;
  std::unique_ptr<char[]> buffers[kBuffers] = {std::make_unique<char[]>(kBlockSize),
                                               std::make_unique<char[]>(kBlockSize),
                                               std::make_unique<char[]>(kBlockSize)};
  uint64_t tickets[kBuffers] = {};
  size_t current = 0;
  std::string error;
  // Last: destroyed first, so it stops reading the buffers before they go.
  ParallelSha256 hash;
};

la_ssize_t ReadTar(archive*, void* data, const void** buffer) {
  auto* input = static_cast<TarInput*>(data);
  char* next = input->NextBuffer();
  la_ssize_t n = archive_read_data(input->raw, next, kBlockSize);
  if (n < 0) {
    input->error = ArchiveError(input->raw);
    return -1;
  }
  input->Hash(static_cast<size_t>(n));
  *buffer = next;
  return n;
}

class Extractor {
 public:
  Extractor(ByteSource& source, const ExtractOptions& options)
      : options_(options), compressed_{&source, {}, {}} {}

  // Runs on a thread with its own cwd (see ExtractLayer).
  absl::StatusOr<ExtractResult> Run(int root_fd) {
    root_fd_ = root_fd;
    dirs_ = DirCache(root_fd, &options_.lower_dirs, DirCache::kDefaultCapacity,
                     options_.report_implicit_dirs ? &created_dirs_ : nullptr);
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
    RETURN_IF_ERROR(SetDirectoryTimes());
    for (std::string& dir : created_dirs_) {
      if (!described_.count(dir)) result.implicit_dirs.push_back(std::move(dir));
    }
    // The tar reader stops at the end-of-archive blocks; the diff ID also
    // covers whatever padding follows them.
    la_ssize_t n;
    while ((n = archive_read_data(raw_.get(), tar_input_->NextBuffer(), kBlockSize)) > 0) {
      tar_input_->Hash(static_cast<size_t>(n));
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
        ASSIGN_OR_RETURN(auto dir, dirs_.Open(components, parent_count));
        return MarkOverlayOpaque(dir->fd.get());
      }
      case WhiteoutKind::kFile: {
        std::string hidden = base.substr(sizeof(kWhiteoutPrefix) - 1);
        ASSIGN_OR_RETURN(auto dir, dirs_.Open(components, parent_count));
        return CreateOverlayWhiteout(dir->fd.get(), hidden);
      }
      case WhiteoutKind::kNone:
        break;
    }

    // Parents are opened here rather than by libarchive so that they are
    // checked for symlinks and get the lower layer's attributes.
    ASSIGN_OR_RETURN(std::shared_ptr<const CachedDir> parent, dirs_.Open(components, parent_count));
    const std::string path = JoinComponents(components, components.size());
    // An entry of its own gives the path its attributes, even when the
    // directory was created earlier for an entry beneath it.
    if (options_.report_implicit_dirs) described_.insert(path);

    const char* link = archive_entry_hardlink(entry);
    std::vector<std::string> target;
    std::shared_ptr<const CachedDir> target_parent;
    if (link != nullptr) {
      ASSIGN_OR_RETURN(target, CleanEntryPath(link));
      if (target.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("layer entry \"", path, "\" is a hard link to the layer root"));
      }
      ASSIGN_OR_RETURN(target_parent, dirs_.Open(target, target.size() - 1));
    }

    if (CanWriteDirectly(entry, link != nullptr)) {
      if (link != nullptr) return WriteHardlink(*parent, base, path, *target_parent, target.back());
      return WriteDirectly(entry, *parent, base, path, result);
    }

    // The rare rest (devices, FIFOs, ACLs, file flags) goes through libarchive,
    // which resolves the names again from the working directory (the root)
    // and may replace what is there.
    dirs_.Invalidate(path);
    archive_entry_set_pathname(entry, path.c_str());
    if (link != nullptr) {
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

  // Regular files, directories, symlinks and hard links with owners, modes,
  // times and ordinary xattrs are written here with the fewest syscalls
  // (create, write, chown only when the create did not already give the
  // owner, xattrs, times, close), relative to the cached parent handle.
  static bool CanWriteDirectly(archive_entry* entry, bool hardlink) {
    if (hardlink) {
      // A hard link carrying data rewrites its target: libarchive's business.
      return !archive_entry_size_is_set(entry) || archive_entry_size(entry) == 0;
    }
    const mode_t type = archive_entry_filetype(entry);
    if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK) return false;
    if (archive_entry_acl_count(
            entry, ARCHIVE_ENTRY_ACL_TYPE_POSIX1E | ARCHIVE_ENTRY_ACL_TYPE_NFS4) != 0) {
      return false;
    }
    unsigned long set = 0, clear = 0;
    archive_entry_fflags(entry, &set, &clear);
    if (set != 0 || clear != 0) return false;
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
      // system.* are ACLs and the like, which libarchive translates.
      if (strncmp(name, "system.", 7) == 0) return false;
    }
    return true;
  }

  absl::Status WriteHardlink(const CachedDir& parent, const std::string& base,
                             const std::string& path, const CachedDir& target_parent,
                             const std::string& target_base) {
    for (int attempt = 0;; ++attempt) {
      // No AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself.
      if (linkat(target_parent.fd.get(), target_base.c_str(), parent.fd.get(), base.c_str(), 0) ==
          0) {
        return absl::OkStatus();
      }
      if (errno != EEXIST || attempt > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("extract \"", path, "\": cannot create the hard link: ", strerror(errno)));
      }
      RETURN_IF_ERROR(RemoveExisting(parent, base, path, /*keep_directory=*/false).status());
    }
  }

  absl::Status WriteDirectly(archive_entry* entry, const CachedDir& parent, const std::string& base,
                             const std::string& path, ExtractResult* result) {
    const uid_t uid = static_cast<uid_t>(archive_entry_uid(entry));
    const gid_t gid = static_cast<gid_t>(archive_entry_gid(entry));
    const mode_t perm = archive_entry_perm(entry) & 07777;
    // Creating as ourselves already gives our owner, unless a setgid parent
    // hands down its group.
    const bool chown_needed = uid != euid_ || gid != egid_ || parent.setgid;
    const struct timespec times[2] = {
        archive_entry_atime_is_set(entry)
            ? timespec{archive_entry_atime(entry), archive_entry_atime_nsec(entry)}
            : timespec{start_time_, 0},
        archive_entry_mtime_is_set(entry)
            ? timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)}
            : timespec{start_time_, 0},
    };
    const int dir_fd = parent.fd.get();
    const char* name = base.c_str();

    switch (archive_entry_filetype(entry)) {
      case AE_IFREG: {
        // The umask is 0 on this thread, so the create gives the exact mode.
        UniqueFd fd(
            openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
        if (!fd.valid() && errno == EEXIST) {
          RETURN_IF_ERROR(RemoveExisting(parent, base, path, /*keep_directory=*/false).status());
          fd.Reset(
              openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
        }
        if (!fd.valid()) return EntryError(path, "create");
        RETURN_IF_ERROR(WriteData(fd.get(), path, archive_entry_size(entry)));
        result->size += archive_entry_size(entry);
        if (chown_needed) {
          if (fchown(fd.get(), uid, gid) != 0) return EntryError(path, "chown");
          // chown clears the setuid and setgid bits the create set.
          if ((perm & 06000) != 0 && fchmod(fd.get(), perm) != 0) return EntryError(path, "chmod");
        }
        SetXattrs(entry, fd.get(), nullptr);
        if (futimens(fd.get(), times) != 0) return EntryError(path, "set times of");
        return absl::OkStatus();
      }
      case AE_IFDIR: {
        if (mkdirat(dir_fd, name, perm) != 0) {
          if (errno != EEXIST) return EntryError(path, "mkdir");
          ASSIGN_OR_RETURN(bool kept, RemoveExisting(parent, base, path, /*keep_directory=*/true));
          if (!kept && mkdirat(dir_fd, name, perm) != 0) return EntryError(path, "mkdir");
        }
        UniqueFd fd(openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd.valid()) return EntryError(path, "open");
        if (chown_needed && fchown(fd.get(), uid, gid) != 0) return EntryError(path, "chown");
        // mkdir ignores setuid/setgid bits and inherits a setgid parent's:
        // set the mode the layer says.
        if (fchmod(fd.get(), perm) != 0) return EntryError(path, "chmod");
        SetXattrs(entry, fd.get(), nullptr);
        // Its times are set at the end: the entries written into it change them.
        directory_times_.push_back({path, {times[0], times[1]}});
        dirs_.Insert(path, std::move(fd), (perm & S_ISGID) != 0);
        return absl::OkStatus();
      }
      case AE_IFLNK: {
        const char* target = archive_entry_symlink(entry);
        if (target == nullptr) target = "";
        if (symlinkat(target, dir_fd, name) != 0) {
          if (errno != EEXIST) return EntryError(path, "create symlink");
          RETURN_IF_ERROR(RemoveExisting(parent, base, path, /*keep_directory=*/false).status());
          if (symlinkat(target, dir_fd, name) != 0) return EntryError(path, "create symlink");
        }
        if (chown_needed && fchownat(dir_fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
          return EntryError(path, "chown");
        }
        const std::string proc_path = absl::StrCat("/proc/self/fd/", dir_fd, "/", base);
        SetXattrs(entry, -1, proc_path.c_str());
        if (utimensat(dir_fd, name, times, AT_SYMLINK_NOFOLLOW) != 0) {
          return EntryError(path, "set times of");
        }
        return absl::OkStatus();
      }
      default:
        return absl::InternalError(absl::StrCat("extract \"", path, "\": unexpected type"));
    }
  }

  // Something is already at the entry's name (tars may repeat names; the last
  // one wins, as in libarchive and GNU tar). Removes it, unless both are
  // directories (then the existing one is kept: true). A non-empty directory
  // is not replaced.
  absl::StatusOr<bool> RemoveExisting(const CachedDir& parent, const std::string& base,
                                      const std::string& path, bool keep_directory) {
    struct stat st;
    if (fstatat(parent.fd.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return EntryError(path, "stat existing");
    }
    if (S_ISDIR(st.st_mode)) {
      if (keep_directory) return true;
      if (unlinkat(parent.fd.get(), base.c_str(), AT_REMOVEDIR) != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "extract \"", path, "\": cannot replace the directory there: ", strerror(errno)));
      }
      dirs_.Invalidate(path);
      return false;
    }
    if (unlinkat(parent.fd.get(), base.c_str(), 0) != 0) return EntryError(path, "remove existing");
    return false;
  }

  // Like libarchive, an xattr the filesystem refuses is not an error.
  static void SetXattrs(archive_entry* entry, int fd, const char* path) {
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(entry);
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
      if (fd >= 0) {
        fsetxattr(fd, name, value, size, 0);
      } else {
        lsetxattr(path, name, value, size, 0);
      }
    }
  }

  // The entry's content, at the offsets the tar gives (holes of sparse files
  // stay holes).
  absl::Status WriteData(int fd, const std::string& path, int64_t size) {
    const void* block;
    size_t length;
    la_int64_t offset;
    int64_t end = 0;
    while (true) {
      int rc = archive_read_data_block(tar_.get(), &block, &length, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc < ARCHIVE_WARN) return InputError(tar_.get(), "invalid layer tar");
      const char* data = static_cast<const char*>(block);
      while (length > 0) {
        ssize_t n = pwrite(fd, data, length, offset);
        if (n < 0) {
          if (errno == EINTR) continue;
          return EntryError(path, "write");
        }
        data += n;
        offset += n;
        length -= static_cast<size_t>(n);
      }
      end = std::max<int64_t>(end, offset);
    }
    if (end < size && ftruncate(fd, size) != 0) return EntryError(path, "truncate");
    return absl::OkStatus();
  }

  absl::Status SetDirectoryTimes() {
    for (const DirectoryTimes& dir : directory_times_) {
      ASSIGN_OR_RETURN(std::vector<std::string> components, CleanEntryPath(dir.path));
      absl::StatusOr<UniqueFd> fd = OpenExistingDirBeneath(root_fd_, components);
      // Replaced by a later entry: nothing to fix up.
      if (!fd.ok()) continue;
      if (futimens(fd->get(), dir.times) != 0) return EntryError(dir.path, "set times of");
    }
    return absl::OkStatus();
  }

  static absl::Status EntryError(const std::string& path, const char* what) {
    return LastErrnoStatus(absl::StrCat(what, " \"", path, "\""));
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

  struct DirectoryTimes {
    std::string path;
    struct timespec times[2];
  };

  const ExtractOptions& options_;
  int root_fd_ = -1;
  DirCache dirs_{-1, nullptr};
  const uid_t euid_ = geteuid();
  const gid_t egid_ = getegid();
  // What libarchive gives entries without times: when extraction started.
  const time_t start_time_ = time(nullptr);
  std::vector<DirectoryTimes> directory_times_;
  // With report_implicit_dirs: directories the walks created, and the paths
  // that entries describe.
  std::vector<std::string> created_dirs_;
  std::unordered_set<std::string> described_;
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
