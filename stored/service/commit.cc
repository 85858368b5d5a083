#include "stored/service/commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <map>
#include <memory>
#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/archive/overlay_upper.h"

namespace berth::stored {
namespace {

// Each block is one gRPC message further on.
constexpr size_t kBlockSize = 1 << 20;

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryDeleter {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveDeleter>;
using EntryPtr = std::unique_ptr<archive_entry, EntryDeleter>;

la_ssize_t WriteToSink(struct archive* a, void* data, const void* buffer, size_t length) {
  auto* sink = static_cast<containerfs::ByteSink*>(data);
  absl::Status status = sink->Write(static_cast<const char*>(buffer), length);
  if (!status.ok()) {
    archive_set_error(a, EIO, "%s", std::string(status.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

std::string ArchiveError(struct archive* a) {
  const char* error = archive_error_string(a);
  return error == nullptr ? "unknown error" : error;
}

// Extended attributes worth keeping in an image: overlay's own are how the
// upper dir encodes things, not content.
std::vector<std::pair<std::string, std::string>> Xattrs(const std::string& proc_path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string names(4096, '\0');
  ssize_t n = llistxattr(proc_path.c_str(), names.data(), names.size());
  if (n <= 0) return out;
  names.resize(static_cast<size_t>(n));
  size_t start = 0;
  while (start < names.size()) {
    std::string name = names.c_str() + start;
    start += name.size() + 1;
    if (name.empty() || absl::StartsWith(name, "trusted.overlay.")) continue;
    std::string value(65536, '\0');
    ssize_t size = lgetxattr(proc_path.c_str(), name.c_str(), value.data(), value.size());
    if (size < 0) continue;
    value.resize(static_cast<size_t>(size));
    out.emplace_back(name, std::move(value));
  }
  return out;
}

class LayerDiffWriter {
 public:
  LayerDiffWriter(containerfs::ByteSink& sink, const std::vector<std::string>& excluded,
                  const UsernsRemap* remap)
      : sink_(sink),
        archive_(archive_write_new()),
        excluded_(excluded.begin(), excluded.end()),
        remap_(remap) {}

  absl::Status Open() {
    if (archive_write_set_format_pax_restricted(archive_.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(archive_.get(), kBlockSize) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(archive_.get(), 1) != ARCHIVE_OK ||
        archive_write_open(archive_.get(), &sink_, nullptr, WriteToSink, nullptr) != ARCHIVE_OK) {
      return absl::InternalError("cannot start the layer archive: " + ArchiveError(archive_.get()));
    }
    return absl::OkStatus();
  }

  // path: the container path of dir_fd ("" for the root).
  absl::Status Walk(int dir_fd, const std::string& path) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, containerfs::SortedChildren(dir_fd));
    for (const std::string& name : names) {
      const std::string child = path + "/" + name;
      if (excluded_.count(child)) continue;
      const std::string entry_name = child.substr(1);
      struct stat st;
      // Gone since the listing (a running container): nothing to commit.
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (containerfs::IsOverlayWhiteout(st)) {
        RETURN_IF_ERROR(AddMarker(WhiteoutName(path, ".wh." + name), st));
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) continue;
        RETURN_IF_ERROR(Add(entry_name + "/", st, dir_fd, name, -1));
        if (containerfs::IsOverlayOpaque(sub.get())) {
          RETURN_IF_ERROR(AddMarker(entry_name + "/.wh..wh..opq", st));
        }
        RETURN_IF_ERROR(Walk(sub.get(), child));
        continue;
      }
      UniqueFd content;
      if (S_ISREG(st.st_mode)) {
        content.Reset(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (!content.valid()) {
          if (errno == ENOENT) continue;
          return LastErrnoStatus("open " + child);
        }
      }
      RETURN_IF_ERROR(Add(entry_name, st, dir_fd, name, content.get()));
    }
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(archive_.get()) != ARCHIVE_OK) {
      return absl::UnavailableError("layer archive: " + ArchiveError(archive_.get()));
    }
    return absl::OkStatus();
  }

 private:
  static std::string WhiteoutName(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir.substr(1) + "/" + name;
  }

  // A whiteout or opaque marker: an empty regular file, as Moby writes them.
  absl::Status AddMarker(const std::string& name, const struct stat& st) {
    EntryPtr entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0600);
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_size(entry.get(), 0);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return WriteHeader(entry.get(), name);
  }

  absl::Status Add(const std::string& name, const struct stat& st, int dir_fd,
                   const std::string& base, int content_fd) {
    EntryPtr entry(archive_entry_new());
    archive_entry_copy_stat(entry.get(), &st);
    archive_entry_unset_atime(entry.get());
    archive_entry_unset_ctime(entry.get());
    archive_entry_unset_birthtime(entry.get());
    archive_entry_set_ino(entry.get(), 0);
    archive_entry_set_dev(entry.get(), 0);
    archive_entry_set_nlink(entry.get(), 0);
    archive_entry_set_pathname(entry.get(), name.c_str());
    for (const auto& [key, value] : Xattrs(absl::StrCat("/proc/self/fd/", dir_fd, "/", base))) {
      archive_entry_xattr_add_entry(entry.get(), key.c_str(), value.data(), value.size());
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(PATH_MAX, '\0');
      ssize_t n = readlinkat(dir_fd, base.c_str(), target.data(), target.size());
      if (n < 0) return LastErrnoStatus("readlink " + name);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(entry.get(), target.c_str());
    }
    if (!S_ISREG(st.st_mode)) {
      archive_entry_set_size(entry.get(), 0);
      return WriteHeader(entry.get(), name);
    }
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
    RETURN_IF_ERROR(WriteHeader(entry.get(), name));
    // A file that shrinks while read still gets the size its header announced.
    std::string buffer(std::min<size_t>(kBlockSize, static_cast<size_t>(st.st_size) + 1), '\0');
    int64_t left = st.st_size;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<int64_t>(left, buffer.size()));
      ssize_t n = read(content_fd, buffer.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastErrnoStatus("read " + name);
      if (n == 0) {
        std::fill(buffer.begin(), buffer.begin() + static_cast<long>(want), '\0');
        n = static_cast<ssize_t>(want);
      }
      if (archive_write_data(archive_.get(), buffer.data(), static_cast<size_t>(n)) < 0) {
        return absl::UnavailableError("layer archive: " + ArchiveError(archive_.get()));
      }
      left -= n;
    }
    return absl::OkStatus();
  }

  absl::Status WriteHeader(archive_entry* entry, const std::string& name) {
    if (remap_ != nullptr) {
      archive_entry_set_uid(
          entry, ToContainerId(remap_->uids, static_cast<uint32_t>(archive_entry_uid(entry))));
      archive_entry_set_gid(
          entry, ToContainerId(remap_->gids, static_cast<uint32_t>(archive_entry_gid(entry))));
    }
    int rc = archive_write_header(archive_.get(), entry);
    if (rc == ARCHIVE_WARN || rc == ARCHIVE_OK) return absl::OkStatus();
    return absl::UnavailableError(
        absl::StrCat("layer archive ", name, ": ", ArchiveError(archive_.get())));
  }

  containerfs::ByteSink& sink_;
  ArchivePtr archive_;
  std::set<std::string> excluded_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  const UsernsRemap* const remap_;
};

}  // namespace

std::vector<std::string> DefaultCommitExclusions() {
  return {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};
}

absl::Status WriteLayerDiff(const std::string& upper_dir, const std::vector<std::string>& excluded,
                            containerfs::ByteSink& sink, const UsernsRemap* remap) {
  UniqueFd root(open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return LastErrnoStatus("open " + upper_dir);
  std::vector<std::string> cleaned;
  for (std::string path : excluded) {
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    if (!path.empty() && path[0] == '/') cleaned.push_back(path);
  }
  LayerDiffWriter writer(sink, cleaned, remap);
  RETURN_IF_ERROR(writer.Open());
  RETURN_IF_ERROR(writer.Walk(root.get(), ""));
  return writer.Close();
}

}  // namespace berth::stored
