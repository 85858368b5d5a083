#include "imaged/build/context.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/status.h"
#include "imaged/archive_input.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged::build {
namespace {

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
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

// A byte range of the context's data file, read with pread so that any
// number of readers share the descriptor.
class RangeSource : public ByteSource {
 public:
  RangeSource(int fd, int64_t offset, int64_t size) : fd_(fd), next_(offset), end_(offset + size) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), end_ - next_));
    if (n == 0) return 0;
    while (true) {
      ssize_t count = pread(fd_, buffer, n, next_);
      if (count > 0) {
        next_ += count;
        return static_cast<size_t>(count);
      }
      if (count == 0) return absl::DataLossError("build context: data file is short");
      if (errno != EINTR) return LastErrnoStatus("read build context");
    }
  }

 private:
  int fd_;
  int64_t next_;
  int64_t end_;
};

// A byte range of the in-memory contents.
class MemoryRangeSource : public ByteSource {
 public:
  MemoryRangeSource(const std::string& data, int64_t offset, int64_t size)
      : data_(data), next_(offset), end_(offset + size) {}
  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), end_ - next_));
    if (n == 0) return 0;
    if (end_ > static_cast<int64_t>(data_.size())) {
      return absl::DataLossError("build context: contents are short");
    }
    std::memcpy(buffer, data_.data() + next_, n);
    next_ += static_cast<int64_t>(n);
    return n;
  }

 private:
  const std::string& data_;
  int64_t next_;
  int64_t end_;
};

absl::Status PwriteFull(int fd, const char* data, size_t size, int64_t offset) {
  while (size > 0) {
    ssize_t count = pwrite(fd, data, size, offset);
    if (count < 0) {
      if (errno == EINTR) continue;
      return LastErrnoStatus("write build context");
    }
    data += count;
    size -= static_cast<size_t>(count);
    offset += count;
  }
  return absl::OkStatus();
}

}  // namespace

BuildContext::~BuildContext() {
  if (data_fd_ >= 0) close(data_fd_);
}

std::unique_ptr<ByteSource> BuildContext::OpenExtent(const Extent& extent) const {
  if (data_fd_ >= 0) return std::make_unique<RangeSource>(data_fd_, extent.offset, extent.size);
  return std::make_unique<MemoryRangeSource>(memory_, extent.offset, extent.size);
}

absl::StatusOr<std::string> BuildContext::ReadExtent(const std::string& name) const {
  auto it = extents_.find(name);
  if (it == extents_.end()) return absl::NotFoundError(absl::StrCat("open ", name));
  std::string content;
  content.resize(static_cast<size_t>(it->second.size));
  std::unique_ptr<ByteSource> source = OpenExtent(it->second);
  size_t filled = 0;
  while (filled < content.size()) {
    ASSIGN_OR_RETURN(size_t n, source->Read(&content[filled], content.size() - filled));
    if (n == 0) return absl::DataLossError("build context: contents are short");
    filled += n;
  }
  return content;
}

absl::Status BuildContext::WriteData(const char* data, size_t size, int64_t offset,
                                     int64_t memory_limit) {
  const int64_t end = offset + static_cast<int64_t>(size);
  if (data_fd_ < 0 && end <= memory_limit) {
    if (static_cast<int64_t>(memory_.size()) < end) memory_.resize(static_cast<size_t>(end));
    std::memcpy(&memory_[static_cast<size_t>(offset)], data, size);
    return absl::OkStatus();
  }
  if (data_fd_ < 0) {
    // Too big for memory: from here on the contents live in one data file, a
    // context of thousands of files costing one inode, not thousands.
    RETURN_IF_ERROR(MakeDirs(root_, 0700));
    const std::string path = root_ + "/data";
    data_fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (data_fd_ < 0) return LastErrnoStatus("create " + path);
    RETURN_IF_ERROR(PwriteFull(data_fd_, memory_.data(), memory_.size(), 0));
    std::string().swap(memory_);
  }
  return PwriteFull(data_fd_, data, size, offset);
}

absl::StatusOr<std::unique_ptr<BuildContext>> BuildContext::Extract(ByteSource& tar,
                                                                    const std::string& root,
                                                                    int64_t memory_limit,
                                                                    const FileFn& on_file) {
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
  // Every file's content goes into one buffer, at an offset (creating and
  // deleting a file per context entry was most of a cached build's time).
  int64_t end = 0;
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
      info = linked->second;
      context->extents_[name] = context->extents_[target];
      auto digest = context->digests_.find(target);
      if (digest != context->digests_.end()) context->digests_[name] = digest->second;
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
    if (info.type == FileType::kFile && hardlink == nullptr) {
      const int64_t start = end;
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      Sha256 hash;
      // Bytes hashed so far, -1 once the digest is left to COPY (a hole in a
      // sparse entry, or contents that outgrew memory).
      int64_t hashed = 0;
      while ((rc = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        // A sparse entry's holes read as zeros: the block's offset places it.
        if (size > 0) {
          RETURN_IF_ERROR(context->WriteData(static_cast<const char*>(block), size, start + offset,
                                             memory_limit));
        }
        if (hashed >= 0 && (offset != hashed || context->data_fd_ >= 0)) hashed = -1;
        if (hashed >= 0 && size > 0) {
          hash.Update(block, size);
          hashed += static_cast<int64_t>(size);
        }
        end = std::max<int64_t>(end, start + offset + static_cast<int64_t>(size));
      }
      if (rc != ARCHIVE_EOF) return input.Error(reader.get(), "invalid build context");
      end = std::max<int64_t>(end, start + info.size);
      info.size = end - start;
      context->extents_[name] = Extent{start, info.size};
      if (hashed == info.size) context->digests_[name] = hash.FinishHex();
      // (A sparse entry's trailing hole is not in memory yet: left out.)
      if (on_file && context->data_fd_ < 0 &&
          static_cast<int64_t>(context->memory_.size()) >= start + info.size) {
        on_file(name,
                absl::string_view(context->memory_.data() + start, static_cast<size_t>(info.size)));
      }
    }
    context->entries_[name] = info;
  }
  // Trailing holes of a sparse entry read as zeros.
  if (context->data_fd_ >= 0) {
    if (ftruncate(context->data_fd_, end) != 0)
      return LastErrnoStatus("truncate " + root + "/data");
  } else {
    context->memory_.resize(static_cast<size_t>(end));
  }
  std::vector<std::string> patterns;
  auto ignore = context->entries_.find(".dockerignore");
  if (ignore != context->entries_.end() && ignore->second.type == FileType::kFile) {
    ASSIGN_OR_RETURN(std::string content, context->ReadExtent(".dockerignore"));
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
  if (name == "." || name == "/") name = "";
  if (absl::StartsWith(name, "/")) name = name.substr(1);
  auto it = extents_.find(name);
  if (it == extents_.end()) return absl::NotFoundError(absl::StrCat("open ", name));
  return OpenExtent(it->second);
}

std::optional<std::string> BuildContext::KnownContentDigest(const std::string& path) const {
  std::string name = CleanPath(path);
  if (name == "." || name == "/") name = "";
  if (absl::StartsWith(name, "/")) name = name.substr(1);
  // What .dockerignore hides is not there, as for Open.
  auto visible = visible_.find(name);
  if (visible == visible_.end() || visible->second.type != FileType::kFile) return std::nullopt;
  auto digest = digests_.find(name);
  if (digest == digests_.end()) return std::nullopt;
  return digest->second;
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
  return ReadExtent(resolved);
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
