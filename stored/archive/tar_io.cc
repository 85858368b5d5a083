#include "stored/archive/tar_io.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/archive/overlay_upper.h"
#include "stored/archive/resolve.h"

namespace berth::containerfs {
namespace {

constexpr size_t kBlockSize = 256 * 1024;

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;

struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

std::string ArchiveError(struct archive* a) {
  const char* message = archive_error_string(a);
  return message != nullptr ? message : "unknown archive error";
}

// A missing component and a file where a directory was expected both mean,
// to the user, that the path does not exist.
absl::Status NotFoundIfMissing(absl::Status status) {
  if (absl::IsNotFound(status)) return status;
  if (absl::StrContains(status.message(), "Not a directory")) {
    return absl::NotFoundError(status.message());
  }
  return status;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (name.empty()) return dir;
  return dir == "/" ? "/" + name : dir + "/" + name;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::StatusOr<std::string> ReadLinkAt(int dir_fd, const std::string& name) {
  char buf[PATH_MAX + 1];
  ssize_t n = readlinkat(dir_fd, name.c_str(), buf, PATH_MAX);
  if (n < 0) return LastErrnoStatus("readlink " + name);
  return std::string(buf, static_cast<size_t>(n));
}

// ---- writing -------------------------------------------------------------

la_ssize_t WriteToSink(struct archive* a, void* data, const void* buffer, size_t length) {
  auto* sink = static_cast<ByteSink*>(data);
  absl::Status status = sink->Write(static_cast<const char*>(buffer), length);
  if (!status.ok()) {
    archive_set_error(a, EIO, "%s", std::string(status.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

class TarWriter {
 public:
  TarWriter(ByteSink& sink, const ArchiveOptions& options)
      : sink_(sink), archive_(archive_write_new()), options_(options) {}

  absl::Status Open() {
    if (archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        // Big blocks: each one is a pipe write and, further on, a gRPC message.
        archive_write_set_bytes_per_block(archive_.get(), kBlockSize) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(archive_.get(), 1) != ARCHIVE_OK ||
        archive_write_open(archive_.get(), &sink_, nullptr, WriteToSink, nullptr) != ARCHIVE_OK) {
      return absl::InternalError("cannot start archive: " + ArchiveError(archive_.get()));
    }
    return absl::OkStatus();
  }

  // content_fd: for regular files, read st.st_size bytes from it.
  absl::Status Add(const std::string& name, const struct stat& st, const std::string& symlink,
                   int content_fd) {
    EntryPtr entry(archive_entry_new());
    archive_entry_copy_stat(entry.get(), &st);
    archive_entry_set_uid(entry.get(), ToContainerId(options_.uids, st.st_uid));
    archive_entry_set_gid(entry.get(), ToContainerId(options_.gids, st.st_gid));
    archive_entry_unset_atime(entry.get());
    archive_entry_unset_ctime(entry.get());
    archive_entry_unset_birthtime(entry.get());
    archive_entry_set_ino(entry.get(), 0);
    archive_entry_set_dev(entry.get(), 0);
    archive_entry_set_nlink(entry.get(), 0);
    archive_entry_set_pathname(entry.get(), name.c_str());
    bool with_content = false;
    if (S_ISREG(st.st_mode)) {
      if (st.st_nlink > 1) {
        auto key = std::make_pair(st.st_dev, st.st_ino);
        auto it = links_.find(key);
        if (it != links_.end()) {
          archive_entry_set_hardlink(entry.get(), it->second.c_str());
          archive_entry_set_size(entry.get(), 0);
          return WriteHeader(entry.get(), name);
        }
        links_[key] = name;
      }
      with_content = true;
    } else {
      archive_entry_set_size(entry.get(), 0);
      if (S_ISLNK(st.st_mode)) archive_entry_set_symlink(entry.get(), symlink.c_str());
    }
    RETURN_IF_ERROR(WriteHeader(entry.get(), name));
    if (!with_content) return absl::OkStatus();
    // Files that change size while read (or report a fake size, as in
    // /proc) still get exactly the size the header announced.
    std::string buffer(kBlockSize, '\0');
    int64_t left = st.st_size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(left, kBlockSize));
      ssize_t n = read(content_fd, buffer.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrnoStatus("read " + name);
      if (n == 0) {
        std::fill(buffer.begin(), buffer.begin() + static_cast<long>(want), '\0');
        n = static_cast<ssize_t>(want);
      }
      if (archive_write_data(archive_.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
        return absl::UnavailableError("archive write: " + ArchiveError(archive_.get()));
      }
      left -= n;
    }
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) {
      return absl::UnavailableError("archive close: " + ArchiveError(archive_.get()));
    }
    return absl::OkStatus();
  }

 private:
  absl::Status WriteHeader(archive_entry* entry, const std::string& name) {
    int rc = archive_write_header(archive_.get(), entry);
    if (rc == ARCHIVE_WARN || rc == ARCHIVE_OK) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("archive ", name, ": ", ArchiveError(archive_.get())));
  }

  ByteSink& sink_;
  ArchivePtr archive_;
  const ArchiveOptions& options_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// Adds name (in dir_fd) and, for a directory, everything below it. Every
// open is O_NOFOLLOW relative to the parent's fd, so a symlink swapped in
// while the walk runs is archived as a link, never followed.
absl::Status AddTree(TarWriter& writer, int dir_fd, const std::string& name,
                     const std::string& entry_name, bool recurse_only) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();  // gone while we walked
    return LastErrnoStatus("stat " + entry_name);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) {
      if (errno == ENOENT) return absl::OkStatus();
      return LastErrnoStatus("open " + entry_name);
    }
    if (fstat(sub.get(), &st) != 0) return LastErrnoStatus("stat " + entry_name);
    if (!recurse_only) RETURN_IF_ERROR(writer.Add(entry_name, st, "", -1));
    ASSIGN_OR_RETURN(std::vector<std::string> children, SortedChildren(sub.get()));
    const std::string prefix =
        entry_name.empty() ? "" : (entry_name.back() == '/' ? entry_name : entry_name + "/");
    for (const std::string& child : children) {
      RETURN_IF_ERROR(AddTree(writer, sub.get(), child, prefix + child, false));
    }
    return absl::OkStatus();
  }
  if (S_ISREG(st.st_mode)) {
    UniqueFd file(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!file.valid()) {
      if (errno == ENOENT) return absl::OkStatus();
      return LastErrnoStatus("open " + entry_name);
    }
    if (fstat(file.get(), &st) != 0) return LastErrnoStatus("stat " + entry_name);
    if (!S_ISREG(st.st_mode)) return absl::OkStatus();
    return writer.Add(entry_name, st, "", file.get());
  }
  if (S_ISLNK(st.st_mode)) {
    ASSIGN_OR_RETURN(std::string target, ReadLinkAt(dir_fd, name));
    return writer.Add(entry_name, st, target, -1);
  }
  if (S_ISSOCK(st.st_mode)) return absl::OkStatus();  // tar cannot hold sockets
  return writer.Add(entry_name, st, "", -1);
}

// ---- extraction ----------------------------------------------------------

struct SourceReader {
  layers::ByteSource* source;
  std::string chunk;
  absl::Status status;
};

la_ssize_t ReadFromSource(struct archive*, void* data, const void** buffer) {
  auto* reader = static_cast<SourceReader*>(data);
  absl::StatusOr<bool> more = reader->source->Next(&reader->chunk);
  if (!more.ok()) {
    reader->status = more.status();
    return -1;
  }
  if (!*more) return 0;
  *buffer = reader->chunk.data();
  return static_cast<la_ssize_t>(reader->chunk.size());
}

std::string Quote(const std::string& s) { return absl::StrCat("\"", s, "\""); }

absl::Status SetMode(int dir_fd, const std::string& name, mode_t mode) {
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
  if (syscall(SYS_fchmodat2, dir_fd, name.c_str(), mode, AT_SYMLINK_NOFOLLOW) == 0) {
    return absl::OkStatus();
  }
  return LastErrnoStatus("chmod " + name);
}

class Extractor {
 public:
  Extractor(int root_fd, std::string dest, const ExtractOptions& options)
      : root_fd_(root_fd),
        dest_(std::move(dest)),
        options_(options),
        temp_prefix_(absl::StrCat(".berth-cp-", getpid(), "-")) {}

  absl::Status Entry(struct archive* a, archive_entry* entry) {
    const char* raw_name = archive_entry_pathname(entry);
    ASSIGN_OR_RETURN(std::string rel, CleanRelative(raw_name == nullptr ? "" : raw_name));
    if (rel.empty()) return absl::OkStatus();  // "." itself: dest exists
    const std::string full = JoinPath(dest_, rel);
    const std::string base = BaseName(full);
    uid_t uid =
        ToHostId(options_.uids, options_.keep_owners ? static_cast<uid_t>(archive_entry_uid(entry))
                                                     : options_.uid);
    gid_t gid =
        ToHostId(options_.gids, options_.keep_owners ? static_cast<gid_t>(archive_entry_gid(entry))
                                                     : options_.gid);

    const char* hardlink = archive_entry_hardlink(entry);
    std::string link_full;
    if (hardlink != nullptr) {
      ASSIGN_OR_RETURN(std::string link_rel, CleanRelative(hardlink));
      if (link_rel.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid hardlink \"", raw_name, "\" -> \"", hardlink, "\""));
      }
      link_full = JoinPath(dest_, link_rel);
    }
    mode_t type = archive_entry_filetype(entry);
    const char* symlink = archive_entry_symlink(entry);
    if (hardlink == nullptr && type == AE_IFLNK) {
      std::string target = symlink == nullptr ? "" : symlink;
      if (!target.empty() && target[0] != '/') {
        size_t slash = rel.rfind('/');
        std::string from = slash == std::string::npos ? "" : rel.substr(0, slash);
        absl::StatusOr<std::string> cleaned = CleanRelative(from + "/" + target);
        if (!cleaned.ok()) {
          return absl::InvalidArgumentError(
              absl::StrCat("invalid symlink \"", raw_name, "\" -> \"", target,
                           "\": it points outside the destination directory"));
        }
      }
    }

    // Entries come grouped by directory: the parent's fd is kept from one
    // entry to the next. Holding the directory itself (not its path) is as
    // safe as resolving again, and anything but a plain file drops it.
    const std::string parent_path = DirName(full);
    bool is_dir = hardlink == nullptr && type == AE_IFDIR;
    if (parent_path != parent_path_ || !parent_.valid()) {
      parent_.Reset();
      ASSIGN_OR_RETURN(parent_, MakeDirsInRoot(root_fd_, parent_path, uid, gid));
      parent_path_ = parent_path;
    }
    UniqueFd parent(fcntl(parent_.get(), F_DUPFD_CLOEXEC, 0));
    if (!parent.valid()) return LastErrnoStatus("dup " + parent_path);
    if (hardlink != nullptr || type != AE_IFREG) parent_.Reset();
    struct stat existing;
    bool exists = fstatat(parent.get(), base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists) {
      bool existing_dir = S_ISDIR(existing.st_mode);
      if (options_.no_overwrite_dir_non_dir && existing_dir && !is_dir) {
        return absl::InvalidArgumentError(absl::StrCat("cannot overwrite directory ", Quote(full),
                                                       " with non-directory ", Quote(full)));
      }
      if (options_.no_overwrite_dir_non_dir && !existing_dir && is_dir) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot overwrite non-directory ", Quote(full), " with directory ", Quote(full)));
      }
      bool keep = existing_dir && is_dir;
      bool renamed_over = !existing_dir && hardlink == nullptr && type == AE_IFREG;
      if (!keep && !renamed_over) RETURN_IF_ERROR(RemoveTreeAt(parent.get(), base));
    }

    mode_t mode = archive_entry_perm(entry);
    if (hardlink != nullptr) {
      ASSIGN_OR_RETURN(UniqueFd link_parent,
                       OpenInRoot(root_fd_, DirName(link_full), O_PATH | O_DIRECTORY, true));
      if (linkat(link_parent.get(), BaseName(link_full).c_str(), parent.get(), base.c_str(), 0) !=
          0) {
        return LastErrnoStatus("link " + full);
      }
      return absl::OkStatus();
    }
    struct timespec times[2];
    times[0].tv_sec = archive_entry_mtime(entry);
    times[0].tv_nsec = archive_entry_mtime_nsec(entry);
    times[1] = times[0];
    switch (type) {
      case AE_IFDIR: {
        if (!exists || !S_ISDIR(existing.st_mode)) {
          if (mkdirat(parent.get(), base.c_str(), 0700) != 0 && errno != EEXIST) {
            return LastErrnoStatus("mkdir " + full);
          }
        }
        UniqueFd dir(
            openat(parent.get(), base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!dir.valid()) return LastErrnoStatus("open " + full);
        if (fchown(dir.get(), uid, gid) != 0) return LastErrnoStatus("chown " + full);
        if (fchmod(dir.get(), mode) != 0) return LastErrnoStatus("chmod " + full);
        // Children change a directory's mtime: set it after them.
        dir_times_.emplace_back(full, times[0]);
        return absl::OkStatus();
      }
      case AE_IFREG:
        size_ = archive_entry_size(entry);
        return WriteFile(a, parent.get(), base, full, uid, gid, mode, times);
      case AE_IFLNK:
        if (symlinkat(symlink == nullptr ? "" : symlink, parent.get(), base.c_str()) != 0) {
          return LastErrnoStatus("symlink " + full);
        }
        break;
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        if (mknodat(parent.get(), base.c_str(), type | mode, archive_entry_rdev(entry)) != 0) {
          return LastErrnoStatus("mknod " + full);
        }
        RETURN_IF_ERROR(SetMode(parent.get(), base, mode));
        break;
      default:
        return absl::OkStatus();  // sockets and unknown types: skipped, as Docker does
    }
    if (fchownat(parent.get(), base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrnoStatus("chown " + full);
    }
    if (type != AE_IFLNK) RETURN_IF_ERROR(SetMode(parent.get(), base, mode));
    if (utimensat(parent.get(), base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrnoStatus("set times of " + full);
    }
    return absl::OkStatus();
  }

  void FinishDirectories() {
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      absl::StatusOr<UniqueFd> dir = OpenInRoot(root_fd_, it->first, O_RDONLY | O_DIRECTORY, false);
      if (!dir.ok()) continue;
      struct timespec times[2] = {it->second, it->second};
      futimens(dir->get(), times);
    }
  }

 private:
  absl::Status WriteFile(struct archive* a, int parent_fd, const std::string& base,
                         const std::string& full, uid_t uid, gid_t gid, mode_t mode,
                         const struct timespec times[2]) {
    std::string temp = absl::StrCat(temp_prefix_, ++counter_);
    UniqueFd file(openat(parent_fd, temp.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file.valid()) return LastErrnoStatus("create " + full);
    absl::Status status = [&]() -> absl::Status {
      const void* buffer = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      int64_t end = 0;
      while (true) {
        int rc = archive_read_data_block(a, &buffer, &size, &offset);
        if (rc == ARCHIVE_EOF) break;
        if (rc < ARCHIVE_WARN) {
          return absl::InvalidArgumentError(absl::StrCat("read ", full, ": ", ArchiveError(a)));
        }
        const char* p = static_cast<const char*>(buffer);
        size_t done = 0;
        while (done < size) {
          ssize_t n = pwrite(file.get(), p + done, size - done, offset + done);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return LastErrnoStatus("write " + full);
          done += static_cast<size_t>(n);
        }
        end = std::max<int64_t>(end, offset + static_cast<int64_t>(size));
      }
      // Only a sparse file's trailing hole leaves the file short of its size.
      if (end < size_ && ftruncate(file.get(), size_) != 0) {
        return LastErrnoStatus("truncate " + full);
      }
      if (fchown(file.get(), uid, gid) != 0) return LastErrnoStatus("chown " + full);
      if (fchmod(file.get(), mode) != 0) return LastErrnoStatus("chmod " + full);
      if (futimens(file.get(), times) != 0) return LastErrnoStatus("set times of " + full);
      if (renameat(parent_fd, temp.c_str(), parent_fd, base.c_str()) != 0) {
        return LastErrnoStatus("rename into " + full);
      }
      return absl::OkStatus();
    }();
    if (!status.ok()) unlinkat(parent_fd, temp.c_str(), 0);
    return status;
  }

  int root_fd_;
  std::string dest_;
  ExtractOptions options_;
  std::vector<std::pair<std::string, struct timespec>> dir_times_;
  const std::string temp_prefix_;
  int counter_ = 0;
  int64_t size_ = 0;
  std::string parent_path_;
  UniqueFd parent_;
};

// Where the symlink dir/base leads inside the root, every link followed
// (Docker's linkTarget); a dangling link gives where it would point.
absl::StatusOr<std::string> ResolveLink(int root_fd, std::string dir, std::string base) {
  for (int hops = 0; hops < 40; ++hops) {
    absl::StatusOr<UniqueFd> dir_fd = OpenInRoot(root_fd, dir, O_RDONLY | O_DIRECTORY, true);
    if (!dir_fd.ok()) return CleanAbsolute(dir + "/" + base);
    ASSIGN_OR_RETURN(std::string real_dir, PathInRoot(root_fd, dir_fd->get()));
    struct stat st;
    if (fstatat(dir_fd->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISLNK(st.st_mode)) {
      return CleanAbsolute(real_dir + "/" + base);
    }
    ASSIGN_OR_RETURN(std::string link, ReadLinkAt(dir_fd->get(), base));
    ContainerPath next = SplitContainerPath(link[0] == '/' ? link : real_dir + "/" + link);
    if (next.clean == "/") return std::string("/");
    dir = next.dir;
    base = next.base;
  }
  return absl::InvalidArgumentError("too many levels of symbolic links");
}

}  // namespace

absl::Status FdSink::Write(const char* data, size_t size) { return WriteFull(fd_, data, size); }

absl::StatusOr<bool> FdSource::Next(std::string* chunk) {
  // Reading into the caller's string would zero-fill it to full size before
  // every read (resize); a copy of what arrived costs less.
  if (buffer_.size() != kBlockSize) buffer_.resize(kBlockSize);
  while (true) {
    ssize_t n = read(fd_, buffer_.data(), buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read archive");
    chunk->assign(buffer_.data(), static_cast<size_t>(n));
    return n > 0;
  }
}

absl::StatusOr<PathStat> StatPath(int root_fd, const std::string& path) {
  ContainerPath p = SplitContainerPath(path);
  struct stat st;
  PathStat out;
  out.name = p.clean == "/" ? "/" : p.base;
  if (p.follow_final) {
    absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd, p.clean, O_PATH, true);
    if (!fd.ok()) return NotFoundIfMissing(fd.status());
    if (fstat(fd->get(), &st) != 0) return LastErrnoStatus("stat " + path);
  } else {
    absl::StatusOr<UniqueFd> parent = OpenInRoot(root_fd, p.dir, O_PATH | O_DIRECTORY, true);
    if (!parent.ok()) return NotFoundIfMissing(parent.status());
    if (fstatat(parent->get(), p.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return NotFoundIfMissing(LastErrnoStatus(path));
    }
    if (S_ISLNK(st.st_mode)) {
      ASSIGN_OR_RETURN(out.link_target, ResolveLink(root_fd, p.dir, p.base));
    }
  }
  out.size = st.st_size;
  out.mode = st.st_mode;
  out.mtime_sec = st.st_mtim.tv_sec;
  out.mtime_nsec = st.st_mtim.tv_nsec;
  return out;
}

absl::Status WriteArchive(int root_fd, const std::string& path, const ArchiveOptions& options,
                          ByteSink& sink) {
  ContainerPath p = SplitContainerPath(path);
  // The walk starts from the parent so that the top entry is looked at with
  // O_NOFOLLOW like every other one, unless the path says to follow it.
  std::string dir = p.dir;
  std::string name = p.base;
  if (p.follow_final) {
    dir = p.clean;
    name = ".";
  }
  absl::StatusOr<UniqueFd> parent = OpenInRoot(root_fd, dir, O_RDONLY | O_DIRECTORY, true);
  if (!parent.ok()) return NotFoundIfMissing(parent.status());
  struct stat st;
  if (fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return NotFoundIfMissing(LastErrnoStatus(path));
  }
  TarWriter writer(sink, options);
  RETURN_IF_ERROR(writer.Open());
  std::string top = p.ends_with_dot ? "." : p.base;
  if (options.bare_names) top = "";
  RETURN_IF_ERROR(AddTree(writer, parent->get(), name, top, options.bare_names));
  return writer.Close();
}

absl::Status ExtractArchive(int root_fd, const std::string& dest, layers::ByteSource& source,
                            const ExtractOptions& options) {
  absl::StatusOr<UniqueFd> dest_fd = OpenInRoot(root_fd, dest, O_PATH, true);
  if (!dest_fd.ok()) return NotFoundIfMissing(dest_fd.status());
  struct stat st;
  if (fstat(dest_fd->get(), &st) != 0) return LastErrnoStatus("stat " + dest);
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError("extraction point is not a directory");
  }
  // Entries are resolved from the real location of dest, so later lookups
  // compose with it however many symlinks led there.
  ASSIGN_OR_RETURN(std::string real_dest, PathInRoot(root_fd, dest_fd->get()));

  ArchivePtr a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  SourceReader reader{&source, {}, absl::OkStatus()};
  if (archive_read_open(a.get(), &reader, nullptr, ReadFromSource, nullptr) != ARCHIVE_OK) {
    if (!reader.status.ok()) return reader.status;
    return absl::InvalidArgumentError("invalid tar archive: " + ArchiveError(a.get()));
  }
  Extractor extractor(root_fd, real_dest, options);
  while (true) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      if (!reader.status.ok()) return reader.status;
      return absl::InvalidArgumentError("invalid tar archive: " + ArchiveError(a.get()));
    }
    absl::Status status = extractor.Entry(a.get(), entry);
    if (!status.ok()) {
      if (!reader.status.ok()) return reader.status;
      return status;
    }
  }
  extractor.FinishDirectories();
  return absl::OkStatus();
}

}  // namespace berth::containerfs
