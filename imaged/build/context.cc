#include "imaged/build/context.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "imaged/archive_input.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged::build {
namespace {

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct DiskDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};

// A context-relative name: cleaned, without "./" or a trailing "/"; an
// error when it is absolute or leaves the context.
absl::StatusOr<std::string> ContextName(const std::string& raw) {
  if (absl::StartsWith(raw, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid build context: entry \"", raw, "\" has an absolute path"));
  }
  for (absl::string_view part : absl::StrSplit(raw, '/')) {
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid build context: entry \"", raw, "\" points outside the context"));
    }
  }
  std::string name = CleanPath(raw);
  return name == "." ? "" : name;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

// True when target, seen from the directory dir, stays inside the root.
bool LinkStaysInside(const std::string& dir, const std::string& target) {
  if (absl::StartsWith(target, "/")) return false;
  int depth = 0;
  for (absl::string_view part : absl::StrSplit(dir, '/', absl::SkipEmpty())) {
    (void)part;
    ++depth;
  }
  for (absl::string_view part : absl::StrSplit(target, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (--depth < 0) return false;
    } else {
      ++depth;
    }
  }
  return true;
}

class FileSource : public ByteSource {
 public:
  explicit FileSource(int fd) : fd_(fd) {}
  ~FileSource() override { close(fd_); }
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    while (true) {
      ssize_t count = read(fd_, buffer, n);
      if (count >= 0) return static_cast<size_t>(count);
      if (errno != EINTR) return LastErrnoStatus("read");
    }
  }

 private:
  int fd_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BuildContext>> BuildContext::Extract(ByteSource& tar,
                                                                    const std::string& root) {
  std::unique_ptr<BuildContext> context(new BuildContext(root));
  context->entries_[""] = FileInfo{FileType::kDirectory, 0755, 0, ""};
  std::unique_ptr<struct archive, ArchiveDeleter> reader(archive_read_new());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_bzip2(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_gnutar(reader.get());
  archive_read_support_format_empty(reader.get());
  imaged::ArchiveInput input;
  input.source = &tar;
  if (archive_read_open(reader.get(), &input, nullptr, imaged::ArchiveInput::Read, nullptr) !=
      ARCHIVE_OK) {
    return input.Error(reader.get(), "invalid build context");
  }
  std::unique_ptr<struct archive, DiskDeleter> disk(archive_write_disk_new());
  // Names are absolute (under root) once checked, and every symlink was
  // checked to stay inside, so libarchive's own path checks are not needed.
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME);
  struct archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return input.Error(reader.get(), "invalid build context");
    const char* raw_name = archive_entry_pathname(entry);
    ASSIGN_OR_RETURN(std::string name, ContextName(raw_name != nullptr ? raw_name : ""));
    FileInfo info;
    info.mode = archive_entry_perm(entry) & 07777;
    info.size = archive_entry_size(entry);
    const char* hardlink = archive_entry_hardlink(entry);
    mode_t type = archive_entry_filetype(entry);
    if (hardlink != nullptr) {
      ASSIGN_OR_RETURN(std::string target, ContextName(hardlink));
      auto linked = context->entries_.find(target);
      if (linked == context->entries_.end() || linked->second.type != FileType::kFile) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid build context: hard link \"", raw_name, "\" to a missing file"));
      }
      archive_entry_set_hardlink(entry, (root + "/" + target).c_str());
      info = linked->second;
    } else if (type == AE_IFDIR) {
      info.type = FileType::kDirectory;
      info.size = 0;
    } else if (type == AE_IFLNK) {
      info.type = FileType::kSymlink;
      info.size = 0;
      const char* target = archive_entry_symlink(entry);
      info.link_target = target != nullptr ? target : "";
      if (!LinkStaysInside(Parent(name), info.link_target)) {
        return absl::InvalidArgumentError(absl::StrCat("invalid build context: symbolic link \"",
                                                       name, "\" points outside the context (",
                                                       info.link_target, ")"));
      }
    } else if (type == AE_IFREG) {
      info.type = FileType::kFile;
    } else {
      // Devices and fifos cannot be copied into an image from a context.
      continue;
    }
    if (name.empty()) {
      if (info.type == FileType::kDirectory) context->entries_[""].mode = info.mode;
      continue;
    }
    // Parents that the tar does not list exist as plain directories.
    for (std::string dir = Parent(name); !dir.empty(); dir = Parent(dir)) {
      context->entries_.emplace(dir, FileInfo{FileType::kDirectory, 0755, 0, ""});
    }
    archive_entry_set_pathname(entry, (root + "/" + name).c_str());
    // imaged must be able to read what it extracted; the view keeps the modes.
    if (info.type == FileType::kDirectory) {
      archive_entry_set_perm(entry, 0700);
    } else if (info.type == FileType::kFile) {
      archive_entry_set_perm(entry, 0600);
    }
    if (archive_write_header(disk.get(), entry) != ARCHIVE_OK) {
      return absl::InternalError(
          absl::StrCat("build context: writing ", name, ": ", archive_error_string(disk.get())));
    }
    if (info.type == FileType::kFile && hardlink == nullptr) {
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((rc = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        if (archive_write_data_block(disk.get(), block, size, offset) < ARCHIVE_OK) {
          return absl::InternalError(absl::StrCat("build context: writing ", name, ": ",
                                                  archive_error_string(disk.get())));
        }
      }
      if (rc != ARCHIVE_EOF) return input.Error(reader.get(), "invalid build context");
    }
    archive_write_finish_entry(disk.get());
    context->entries_[name] = info;
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("build context: ", archive_error_string(disk.get())));
  }
  std::vector<std::string> patterns;
  auto ignore = context->entries_.find(".dockerignore");
  if (ignore != context->entries_.end() && ignore->second.type == FileType::kFile) {
    ASSIGN_OR_RETURN(std::string content, ReadFile(root + "/.dockerignore"));
    patterns = ReadDockerignore(content);
  }
  ASSIGN_OR_RETURN(PatternMatcher matcher, PatternMatcher::Create(patterns));
  context->ApplyIgnore(matcher);
  return context;
}

void BuildContext::ApplyIgnore(const PatternMatcher& matcher) {
  visible_.clear();
  for (const auto& [path, info] : entries_) {
    if (path.empty() || matcher.empty() || !matcher.MatchesOrParentMatches(path)) {
      visible_[path] = info;
    }
  }
  // A directory stays when an exception re-includes something inside it.
  std::vector<std::string> shown;
  for (const auto& entry : visible_) shown.push_back(entry.first);
  for (const std::string& path : shown) {
    for (std::string dir = Parent(path); !dir.empty(); dir = Parent(dir)) {
      if (!visible_.emplace(dir, entries_[dir]).second) break;
    }
  }
}

absl::StatusOr<FileInfo> BuildContext::Lstat(const std::string& path) const {
  std::string name = CleanPath(path);
  if (name == "." || name == "/") name = "";
  if (absl::StartsWith(name, "/")) name = name.substr(1);
  auto it = visible_.find(name);
  if (it == visible_.end()) {
    return absl::NotFoundError(absl::StrCat("stat ", path, ": file does not exist"));
  }
  return it->second;
}

absl::StatusOr<std::vector<std::string>> BuildContext::List(const std::string& dir) const {
  ASSIGN_OR_RETURN(FileInfo info, Lstat(dir));
  if (info.type != FileType::kDirectory) {
    return absl::FailedPreconditionError(absl::StrCat(dir, " is not a directory"));
  }
  std::string prefix = CleanPath(dir);
  if (prefix == "." || prefix == "/") prefix = "";
  std::vector<std::string> names;
  std::string start = prefix.empty() ? "" : prefix + "/";
  for (auto it = visible_.lower_bound(start); it != visible_.end(); ++it) {
    if (!absl::StartsWith(it->first, start)) break;
    if (it->first.empty()) continue;
    std::string rest = it->first.substr(start.size());
    if (rest.find('/') == std::string::npos) names.push_back(rest);
  }
  return names;
}

absl::StatusOr<std::unique_ptr<ByteSource>> BuildContext::Open(const std::string& path) const {
  ASSIGN_OR_RETURN(FileInfo info, Lstat(path));
  if (info.type != FileType::kFile) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  std::string name = CleanPath(path);
  int fd = open((root_ + "/" + name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return LastErrnoStatus(absl::StrCat("open ", name));
  return std::unique_ptr<ByteSource>(new FileSource(fd));
}

absl::StatusOr<std::string> BuildContext::ReadDockerfile(const std::string& path) const {
  std::vector<std::string> candidates = {path.empty() ? "Dockerfile" : path};
  if (path.empty() || path == "Dockerfile") candidates.push_back("dockerfile");
  for (const std::string& candidate : candidates) {
    absl::StatusOr<std::string> content = ReadFileInView(candidate, /*honour_ignore=*/false);
    if (content.ok() || !absl::IsNotFound(content.status())) return content;
  }
  return absl::NotFoundError(
      absl::StrCat("Cannot locate specified Dockerfile: ", candidates.front()));
}

absl::StatusOr<std::string> BuildContext::ReadFileInView(const std::string& path,
                                                         bool honour_ignore) const {
  // The Dockerfile is read from every entry, .dockerignore or not.
  BuildContext unfiltered(root_);
  unfiltered.entries_ = entries_;
  unfiltered.visible_ = honour_ignore ? visible_ : entries_;
  ASSIGN_OR_RETURN(std::string resolved, ResolveInTree(unfiltered, path));
  ASSIGN_OR_RETURN(FileInfo info, unfiltered.Lstat(resolved));
  if (info.type != FileType::kFile) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is not a regular file"));
  }
  return ReadFile(root_ + "/" + resolved);
}

absl::StatusOr<std::string> ResolveInTree(const SourceTree& tree, const std::string& path) {
  std::vector<std::string> pending;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    pending.emplace_back(part);
  }
  std::reverse(pending.begin(), pending.end());
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.back());
    pending.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (resolved.empty()) {
        // Like chroot: ".." of an image's root is the root.
        if (tree.AbsoluteLinksAreRooted()) continue;
        return absl::InvalidArgumentError(
            absl::StrCat("forbidden path outside the build context: ", path));
      }
      resolved.pop_back();
      continue;
    }
    resolved.push_back(part);
    std::string current = absl::StrJoin(resolved, "/");
    absl::StatusOr<FileInfo> info = tree.Lstat(current);
    // A missing component is left for the caller's stat to report.
    if (!info.ok() || info->type != FileType::kSymlink) continue;
    if (++links > 255) {
      return absl::InvalidArgumentError(absl::StrCat("too many links in ", path));
    }
    resolved.pop_back();
    const std::string& target = info->link_target;
    if (absl::StartsWith(target, "/")) {
      if (!tree.AbsoluteLinksAreRooted()) {
        return absl::InvalidArgumentError(
            absl::StrCat("forbidden path outside the build context: ", path, " (", target, ")"));
      }
      resolved.clear();
    }
    std::vector<std::string> target_parts = absl::StrSplit(target, '/', absl::SkipEmpty());
    for (auto it = target_parts.rbegin(); it != target_parts.rend(); ++it) pending.push_back(*it);
  }
  return absl::StrJoin(resolved, "/");
}

std::string DirectoryTree::Full(const std::string& path) const {
  std::string clean = CleanPath("/" + path);
  return clean == "/" ? root_ : root_ + clean;
}

absl::StatusOr<FileInfo> DirectoryTree::Lstat(const std::string& path) const {
  struct stat st;
  if (lstat(Full(path).c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("stat ", path, ": file does not exist"));
    }
    return LastErrnoStatus(absl::StrCat("stat ", path));
  }
  FileInfo info;
  info.mode = st.st_mode & 07777;
  info.size = st.st_size;
  info.uid = st.st_uid;
  info.gid = st.st_gid;
  if (S_ISDIR(st.st_mode)) {
    info.type = FileType::kDirectory;
  } else if (S_ISREG(st.st_mode)) {
    info.type = FileType::kFile;
  } else if (S_ISLNK(st.st_mode)) {
    info.type = FileType::kSymlink;
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlink(Full(path).c_str(), target.data(), target.size());
    if (n < 0) return LastErrnoStatus(absl::StrCat("readlink ", path));
    target.resize(static_cast<size_t>(n));
    info.link_target = target;
  } else {
    info.type = FileType::kOther;
  }
  return info;
}

absl::StatusOr<std::vector<std::string>> DirectoryTree::List(const std::string& dir) const {
  return ListDirectory(Full(dir));
}

absl::StatusOr<std::unique_ptr<ByteSource>> DirectoryTree::Open(const std::string& path) const {
  // Components before the last are trusted to be resolved by the caller
  // (ResolveInTree); the last one must not be a link.
  int fd = open(Full(path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return LastErrnoStatus(absl::StrCat("open ", path));
  return std::unique_ptr<ByteSource>(new FileSource(fd));
}

bool IsArchive(const SourceTree& tree, const std::string& path) {
  absl::StatusOr<std::unique_ptr<ByteSource>> source = tree.Open(path);
  if (!source.ok()) return false;
  std::unique_ptr<struct archive, ArchiveDeleter> reader(archive_read_new());
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_bzip2(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_gnutar(reader.get());
  imaged::ArchiveInput input;
  input.source = source->get();
  if (archive_read_open(reader.get(), &input, nullptr, imaged::ArchiveInput::Read, nullptr) !=
      ARCHIVE_OK) {
    return false;
  }
  struct archive_entry* entry = nullptr;
  return archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK;
}

}  // namespace berth::imaged::build
