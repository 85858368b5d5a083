#include "imaged/build/copy.h"

#include <algorithm>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"
#include "common/status.h"

namespace berth::imaged::build {
namespace {

bool ContainsWildcards(const std::string& name) {
  for (size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '\\') {
      ++i;
    } else if (name[i] == '*' || name[i] == '?' || name[i] == '[') {
      return true;
    }
  }
  return false;
}

std::string Base(const std::string& path) {
  std::string clean = CleanPath(path);
  size_t slash = clean.rfind('/');
  return slash == std::string::npos ? clean : clean.substr(slash + 1);
}

std::string JoinPath(const std::string& a, const std::string& b) {
  return CleanPath(absl::StrCat(a, "/", b));
}

// One matched source (Docker's copyInfo): the path as named, the path after
// following a final symlink, and its type.
struct Source {
  std::string named;
  std::string resolved;
  FileInfo info;
};

absl::StatusOr<std::string> ContentDigest(const SourceTree& tree, const std::string& path) {
  std::optional<std::string> known = tree.KnownContentDigest(path);
  if (known.has_value()) return *known;
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> source, tree.Open(path));
  berth::Sha256 hash;
  char buffer[1 << 16];
  while (true) {
    ASSIGN_OR_RETURN(size_t n, source->Read(buffer, sizeof(buffer)));
    if (n == 0) break;
    hash.Update(buffer, n);
  }
  return hash.FinishHex();
}

// What the hash of an entry covers: type, mode, link target, content.
absl::StatusOr<std::string> EntryRecord(const SourceTree& tree, const std::string& path,
                                        const FileInfo& info) {
  std::string content;
  if (info.type == FileType::kFile) {
    ASSIGN_OR_RETURN(content, ContentDigest(tree, path));
  }
  return absl::StrFormat("%d %o %s %s", static_cast<int>(info.type), info.mode, info.link_target,
                         content);
}

class Planner {
 public:
  Planner(const SourceTree& tree, const CopyRequest& request, const IsDirectoryFn& is_directory)
      : tree_(tree), request_(request), is_directory_(is_directory) {}

  absl::StatusOr<CopyPlan> Run() {
    std::string dest = request_.dest;
    bool dest_slash = absl::EndsWith(dest, "/");
    if (!absl::StartsWith(dest, "/")) {
      dest = JoinPath("/" + request_.workdir, dest);
      if (dest_slash && dest != "/") dest += "/";
    }
    std::vector<std::string> hashes;
    std::vector<std::pair<std::string, std::string>> urls;
    std::vector<Source> sources;
    for (const std::string& raw : request_.sources) {
      if (IsUrl(raw)) {
        if (!request_.allow_remote_and_extract) {
          return Fail(absl::InvalidArgumentError("source can't be a URL for COPY"));
        }
        urls.emplace_back(raw, "");
        continue;
      }
      RETURN_IF_ERROR(Collect(raw, &sources));
    }
    if (sources.size() + urls.size() > 1 && !absl::EndsWith(request_.dest, "/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("When using ", request_.instruction,
                       " with more than one source file, the destination must be a directory "
                       "and end with a /"));
    }
    CopyPlan plan;
    plan.chown = request_.chown;
    plan.preserve_ownership = !request_.from.empty() && request_.chown.empty();
    if (!request_.chmod.empty()) {
      ASSIGN_OR_RETURN(uint32_t mode, ParseOctalMode(request_.chmod));
      chmod_ = mode;
    }
    for (const Source& source : sources) {
      ASSIGN_OR_RETURN(std::string hash, AddSource(source, dest, &plan));
      hashes.push_back(hash);
    }
    for (const auto& url : urls) {
      CopyItem item;
      item.kind = CopyItem::Kind::kDownload;
      item.source = url.first;
      absl::StatusOr<std::string> target = DownloadTarget(url.first, dest);
      if (!target.ok()) return Fail(target.status());
      item.target = *target;
      item.mode = chmod_.value_or(0600);
      plan.items.push_back(item);
      hashes.push_back("file:" + HexDigest(absl::StrCat("url ", url.first)));
    }
    if (hashes.size() == 1) {
      plan.source_hash = hashes[0];
    } else {
      plan.source_hash = "multi:" + HexDigest(absl::StrJoin(hashes, ","));
    }
    berth::Sha256 checksum;
    for (const CopyItem& item : plan.items) {
      checksum.Update(absl::StrFormat("%d\x1f%s\x1f%s\x1f%o\x1f%s\x1f", static_cast<int>(item.kind),
                                      item.source, item.target, item.mode, item.link_target));
      auto digest = digests_.find(item.source);
      if (digest != digests_.end()) checksum.Update(digest->second);
      checksum.Update("\n");
    }
    checksum.Update(absl::StrCat("chown=", plan.chown, "\n"));
    plan.checksum = checksum.Finish();
    return plan;
  }

 private:
  static std::string HexDigest(const std::string& text) {
    return std::string(DigestHex(Sha256Digest(text)));
  }

  absl::Status Fail(const absl::Status& status) const {
    return absl::Status(status.code(),
                        absl::StrCat(request_.instruction, " failed: ", status.message()));
  }

  absl::Status Collect(const std::string& raw, std::vector<Source>* sources) {
    std::string path = raw;
    while (absl::StartsWith(path, "/")) path = path.substr(1);
    if (absl::StartsWith(path, "./")) path = path.substr(2);
    if (!ContainsWildcards(path)) {
      absl::StatusOr<Source> source = Stat(path);
      if (!source.ok()) return Fail(source.status());
      sources->push_back(*source);
      return absl::OkStatus();
    }
    std::string pattern = CleanPath(path);
    size_t before = sources->size();
    RETURN_IF_ERROR(Walk("", pattern, sources));
    if (sources->size() == before) {
      return Fail(absl::InvalidArgumentError("no source files were specified"));
    }
    return absl::OkStatus();
  }

  absl::Status Walk(const std::string& dir, const std::string& pattern,
                    std::vector<Source>* sources) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, tree_.List(dir));
    for (const std::string& name : names) {
      std::string path = dir.empty() ? name : dir + "/" + name;
      ASSIGN_OR_RETURN(FileInfo info, tree_.Lstat(path));
      bool ok = true;
      if (GlobMatch(pattern, path, &ok)) {
        absl::StatusOr<Source> source = Stat(path);
        if (!source.ok()) return Fail(source.status());
        sources->push_back(*source);
      }
      if (!ok) return Fail(absl::InvalidArgumentError("syntax error in pattern"));
      if (info.type == FileType::kDirectory) RETURN_IF_ERROR(Walk(path, pattern, sources));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Source> Stat(const std::string& path) {
    Source source;
    source.named = CleanPath(path.empty() ? "." : path);
    ASSIGN_OR_RETURN(source.resolved, ResolveInTree(tree_, source.named));
    absl::StatusOr<FileInfo> info = tree_.Lstat(source.resolved);
    if (absl::IsNotFound(info.status())) {
      return absl::NotFoundError(
          absl::StrCat("file not found in build context or excluded by .dockerignore: stat ",
                       source.named, ": file does not exist"));
    }
    RETURN_IF_ERROR(info.status());
    source.info = *info;
    return source;
  }

  uint32_t Mode(uint32_t original) const { return chmod_.value_or(original); }

  absl::StatusOr<std::string> AddSource(const Source& source, const std::string& dest,
                                        CopyPlan* plan) {
    std::string clean_dest = CleanPath(dest);
    if (source.info.type == FileType::kDirectory) {
      CopyItem root;
      root.kind = CopyItem::Kind::kDirectory;
      root.source = source.resolved;
      root.target = clean_dest;
      root.mode = Mode(source.info.mode);
      plan->items.push_back(root);
      berth::Sha256 hash;
      RETURN_IF_ERROR(AddTree(source.resolved, clean_dest, "", plan, &hash));
      return "dir:" + hash.FinishHex();
    }
    ASSIGN_OR_RETURN(std::string record, EntryRecord(tree_, source.resolved, source.info));
    digests_[source.resolved] = record;
    if (request_.allow_remote_and_extract && source.info.type == FileType::kFile &&
        IsArchive(tree_, source.resolved)) {
      CopyItem item;
      item.kind = CopyItem::Kind::kExtractArchive;
      item.source = source.resolved;
      item.target = clean_dest;
      item.mode = source.info.mode;
      plan->items.push_back(item);
      return "file:" + HexDigest(record);
    }
    CopyItem item;
    item.kind = CopyItem::Kind::kFile;
    item.source = source.resolved;
    item.target = clean_dest;
    // Docker names the copy after the source as named, not the link target.
    if (absl::EndsWith(dest, "/") || is_directory_(clean_dest)) {
      item.target = JoinPath(clean_dest, Base(source.named));
    }
    item.mode = Mode(source.info.mode);
    if (source.info.type == FileType::kSymlink) {
      item.kind = CopyItem::Kind::kSymlink;
      item.link_target = source.info.link_target;
    }
    plan->items.push_back(item);
    return "file:" + HexDigest(record);
  }

  absl::Status AddTree(const std::string& dir, const std::string& target, const std::string& rel,
                       CopyPlan* plan, berth::Sha256* hash) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, tree_.List(dir));
    for (const std::string& name : names) {
      std::string path = dir.empty() ? name : dir + "/" + name;
      std::string relative = rel.empty() ? name : rel + "/" + name;
      ASSIGN_OR_RETURN(FileInfo info, tree_.Lstat(path));
      if (info.type == FileType::kOther) continue;
      ASSIGN_OR_RETURN(std::string record, EntryRecord(tree_, path, info));
      digests_[path] = record;
      hash->Update(absl::StrCat(relative, "\x1f", record, "\n"));
      CopyItem item;
      item.source = path;
      item.target = JoinPath(target, name);
      if (info.type == FileType::kDirectory) {
        item.kind = CopyItem::Kind::kDirectory;
        item.mode = Mode(info.mode);
      } else if (info.type == FileType::kSymlink) {
        // Links inside a copied directory are copied as links.
        item.kind = CopyItem::Kind::kSymlink;
        item.mode = info.mode;
        item.link_target = info.link_target;
      } else {
        item.mode = Mode(info.mode);
      }
      plan->items.push_back(item);
      if (info.type == FileType::kDirectory) {
        RETURN_IF_ERROR(AddTree(path, item.target, relative, plan, hash));
      }
    }
    return absl::OkStatus();
  }

  const SourceTree& tree_;
  const CopyRequest& request_;
  const IsDirectoryFn& is_directory_;
  std::optional<uint32_t> chmod_;
  std::map<std::string, std::string> digests_;
};

// Go's matchChunk for one chunk (no '*'): the rest of s, or false.
bool MatchChunk(const std::string& chunk, const std::string& s, std::string* rest, bool* ok) {
  size_t c = 0, i = 0;
  while (c < chunk.size()) {
    if (chunk[c] == '[') {
      if (i >= s.size()) return false;
      char r = s[i++];
      ++c;
      bool negated = c < chunk.size() && chunk[c] == '^';
      if (negated) ++c;
      bool matched = false;
      int count = 0;
      while (true) {
        if (c < chunk.size() && chunk[c] == ']' && count > 0) {
          ++c;
          break;
        }
        auto take = [&](char* out) {
          if (c >= chunk.size()) return false;
          if (chunk[c] == '\\') ++c;
          if (c >= chunk.size()) return false;
          *out = chunk[c++];
          return true;
        };
        char lo = 0, hi = 0;
        if (!take(&lo)) {
          *ok = false;
          return false;
        }
        hi = lo;
        if (c < chunk.size() && chunk[c] == '-') {
          ++c;
          if (!take(&hi)) {
            *ok = false;
            return false;
          }
        }
        if (lo <= r && r <= hi) matched = true;
        ++count;
      }
      if (matched == negated) return false;
      continue;
    }
    if (chunk[c] == '?') {
      if (i >= s.size() || s[i] == '/') return false;
      ++i;
      ++c;
      continue;
    }
    if (chunk[c] == '\\') {
      ++c;
      if (c >= chunk.size()) {
        *ok = false;
        return false;
      }
    }
    if (i >= s.size() || chunk[c] != s[i]) return false;
    ++i;
    ++c;
  }
  *rest = s.substr(i);
  return true;
}

}  // namespace

bool GlobMatch(const std::string& pattern_in, const std::string& name_in, bool* ok_out) {
  bool ok_storage = true;
  bool* ok = ok_out != nullptr ? ok_out : &ok_storage;
  *ok = true;
  std::string pattern = pattern_in;
  std::string name = name_in;
  while (!pattern.empty()) {
    bool star = false;
    while (!pattern.empty() && pattern[0] == '*') {
      pattern.erase(0, 1);
      star = true;
    }
    // The chunk runs to the next unescaped '*' outside brackets.
    size_t end = 0;
    bool in_range = false;
    for (; end < pattern.size(); ++end) {
      char ch = pattern[end];
      if (ch == '\\' && end + 1 < pattern.size()) {
        ++end;
      } else if (ch == '[') {
        in_range = true;
      } else if (ch == ']') {
        in_range = false;
      } else if (ch == '*' && !in_range) {
        break;
      }
    }
    std::string chunk = pattern.substr(0, end);
    pattern = pattern.substr(end);
    if (star && chunk.empty()) return name.find('/') == std::string::npos;
    std::string rest;
    if (MatchChunk(chunk, name, &rest, ok) && (rest.empty() || !pattern.empty())) {
      name = rest;
      continue;
    }
    if (!*ok) return false;
    bool advanced = false;
    if (star) {
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        if (MatchChunk(chunk, name.substr(i + 1), &rest, ok)) {
          if (pattern.empty() && !rest.empty()) continue;
          name = rest;
          advanced = true;
          break;
        }
        if (!*ok) return false;
      }
    }
    if (!advanced) return false;
  }
  return name.empty();
}

absl::StatusOr<std::string> DownloadTarget(const std::string& url, const std::string& dest) {
  if (!absl::EndsWith(dest, "/")) return CleanPath(dest);
  std::string path = url;
  size_t scheme = path.find("://");
  if (scheme != std::string::npos) path = path.substr(scheme + 3);
  size_t cut = path.find_first_of("?#");
  if (cut != std::string::npos) path = path.substr(0, cut);
  size_t slash = path.find('/');
  path = slash == std::string::npos ? "" : path.substr(slash);
  while (absl::EndsWith(path, "/")) path.pop_back();
  std::string filename = path.substr(path.rfind('/') + 1);
  if (filename.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot determine filename from url: ", url));
  }
  return JoinPath(dest, filename);
}

absl::Status ParseNumericChown(const std::string& chown, uint32_t* uid, uint32_t* gid) {
  std::pair<std::string, std::string> parts = absl::StrSplit(chown, absl::MaxSplits(':', 1));
  if (!absl::SimpleAtoi(parts.first, uid)) {
    return absl::NotFoundError(absl::StrCat("user ", parts.first, " needs the image's passwd"));
  }
  if (parts.second.empty()) {
    *gid = *uid;
    return absl::OkStatus();
  }
  if (!absl::SimpleAtoi(parts.second, gid)) {
    return absl::NotFoundError(absl::StrCat("group ", parts.second, " needs the image's group"));
  }
  return absl::OkStatus();
}

bool MountedTree::Inside(const std::string& path, std::string* inner) const {
  if (!absl::StartsWith(path, prefix_ + "/")) return false;
  *inner = path.substr(prefix_.size() + 1);
  return true;
}

absl::StatusOr<FileInfo> MountedTree::Lstat(const std::string& path) const {
  std::string inner;
  return Inside(path, &inner) ? mounted_.Lstat(inner) : base_.Lstat(path);
}

absl::StatusOr<std::vector<std::string>> MountedTree::List(const std::string& dir) const {
  std::string inner;
  return Inside(dir, &inner) ? mounted_.List(inner) : base_.List(dir);
}

absl::StatusOr<std::unique_ptr<ByteSource>> MountedTree::Open(const std::string& path) const {
  std::string inner;
  return Inside(path, &inner) ? mounted_.Open(inner) : base_.Open(path);
}

absl::StatusOr<CopyPlan> ResolveCopy(const SourceTree& tree, const CopyRequest& request,
                                     const IsDirectoryFn& is_directory) {
  return Planner(tree, request, is_directory).Run();
}

}  // namespace berth::imaged::build
