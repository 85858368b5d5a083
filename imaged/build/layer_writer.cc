#include "imaged/build/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "imaged/archive_input.h"
#include "imaged/build/dispatch.h"

namespace berth::imaged::build {
namespace {

// Fixed times keep a step's layer (and so its diff ID) the same whenever it
// is rebuilt from the same files.
constexpr int64_t kLayerTime = 0;

struct Output {
  const TarSinkFn* sink;
  absl::Status status;
  static la_ssize_t Write(struct archive* a, void* data, const void* buffer, size_t length) {
    auto* out = static_cast<Output*>(data);
    out->status = (*out->sink)(absl::string_view(static_cast<const char*>(buffer), length));
    if (!out->status.ok()) {
      archive_set_error(a, EIO, "%s", std::string(out->status.message()).c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(length);
  }
};

// A tar being written: entries with names relative to the image root.
class TarWriter {
 public:
  TarWriter(const TarSinkFn& sink, const ExistsFn& exists) : exists_(exists) {
    output_.sink = &sink;
    archive_ = archive_write_new();
    archive_write_set_format_pax_restricted(archive_);
    archive_write_set_bytes_in_last_block(archive_, 1);
    archive_write_open(archive_, &output_, nullptr, &Output::Write, nullptr);
  }
  ~TarWriter() { archive_write_free(archive_); }

  // Makes the missing parents of path (absolute), then notes path as made.
  absl::Status Parents(const std::string& path, const Owner& owner) {
    std::vector<std::string> missing;
    for (std::string dir = Parent(path); dir != "/"; dir = Parent(dir)) {
      if (written_.count(dir) > 0 || exists_(dir)) break;
      missing.push_back(dir);
    }
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      RETURN_IF_ERROR(Header(*it, AE_IFDIR, 0755, owner, 0, ""));
    }
    return absl::OkStatus();
  }

  absl::Status Header(const std::string& path, unsigned type, uint32_t mode, const Owner& owner,
                      int64_t size, const std::string& link) {
    std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)> entry(
        archive_entry_new(), archive_entry_free);
    std::string name = path.substr(1);
    if (type == AE_IFDIR) name += "/";
    archive_entry_set_pathname(entry.get(), name.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), mode);
    archive_entry_set_uid(entry.get(), owner.uid);
    archive_entry_set_gid(entry.get(), owner.gid);
    archive_entry_set_size(entry.get(), size);
    archive_entry_set_mtime(entry.get(), kLayerTime, 0);
    if (!link.empty()) archive_entry_set_symlink(entry.get(), link.c_str());
    if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK) return Error("writing " + path);
    written_.insert(path);
    return absl::OkStatus();
  }

  absl::Status Data(const char* data, size_t size) {
    if (archive_write_data(archive_, data, size) < 0) return Error("writing data");
    return absl::OkStatus();
  }

  absl::Status Close() {
    if (archive_write_close(archive_) != ARCHIVE_OK) return Error("closing layer");
    return absl::OkStatus();
  }

  absl::Status Error(const std::string& context) {
    if (!output_.status.ok()) return output_.status;
    const char* message = archive_error_string(archive_);
    return absl::InternalError(absl::StrCat(context, ": ", message ? message : "unknown error"));
  }

  static std::string Parent(const std::string& path) {
    size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }

 private:
  Output output_;
  const ExistsFn& exists_;
  struct archive* archive_;
  std::set<std::string> written_;
};

absl::Status CopyFile(TarWriter& tar, const SourceTree& source, const std::string& path,
                      const std::string& target, uint32_t mode, const Owner& owner) {
  ASSIGN_OR_RETURN(FileInfo info, source.Lstat(path));
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> in, source.Open(path));
  RETURN_IF_ERROR(tar.Header(target, AE_IFREG, mode, owner, info.size, ""));
  char buffer[1 << 16];
  int64_t left = info.size;
  while (left > 0) {
    ASSIGN_OR_RETURN(size_t n, in->Read(buffer, sizeof(buffer)));
    if (n == 0) return absl::DataLossError(absl::StrCat(path, " shrank while it was copied"));
    n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(n), left));
    RETURN_IF_ERROR(tar.Data(buffer, n));
    left -= static_cast<int64_t>(n);
  }
  return absl::OkStatus();
}

absl::Status Extract(TarWriter& tar, const SourceTree& source, const CopyItem& item,
                     const Owner& owner) {
  ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> in, source.Open(item.source));
  std::unique_ptr<struct archive, int (*)(struct archive*)> reader(archive_read_new(),
                                                                   archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_filter_bzip2(reader.get());
  archive_read_support_filter_xz(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_gnutar(reader.get());
  imaged::ArchiveInput input;
  input.source = in.get();
  auto error = [&]() {
    if (!input.status.ok()) return input.status;
    const char* message = archive_error_string(reader.get());
    return absl::InvalidArgumentError(absl::StrCat("ADD failed: extracting ", item.source, ": ",
                                                   message ? message : "unknown error"));
  };
  if (archive_read_open(reader.get(), &input, nullptr, imaged::ArchiveInput::Read, nullptr) !=
      ARCHIVE_OK) {
    return error();
  }
  RETURN_IF_ERROR(tar.Parents(item.target + "/x", owner));
  struct archive_entry* entry = nullptr;
  while (true) {
    int rc = archive_read_next_header(reader.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return error();
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    for (absl::string_view part : absl::StrSplit(name, '/')) {
      if (part == "..") {
        return absl::InvalidArgumentError(
            absl::StrCat("ADD failed: ", item.source, ": entry ", name, " leaves the archive"));
      }
    }
    std::string target = CleanPath(item.target + "/" + name);
    if (target == CleanPath(item.target)) continue;
    Owner entry_owner{static_cast<uint32_t>(archive_entry_uid(entry)),
                      static_cast<uint32_t>(archive_entry_gid(entry))};
    RETURN_IF_ERROR(tar.Parents(target, owner));
    mode_t type = archive_entry_filetype(entry);
    uint32_t mode = archive_entry_perm(entry) & 07777;
    if (archive_entry_hardlink(entry) != nullptr) {
      // The link's data went with its first name; refuse clearly rather
      // than write an empty file.
      return absl::UnimplementedError(
          absl::StrCat("ADD failed: ", item.source, ": hard links in archives are not supported"));
    }
    if (type == AE_IFDIR) {
      RETURN_IF_ERROR(tar.Header(target, AE_IFDIR, mode, entry_owner, 0, ""));
    } else if (type == AE_IFLNK) {
      RETURN_IF_ERROR(tar.Header(target, AE_IFLNK, mode, entry_owner, 0,
                                 archive_entry_symlink(entry) ? archive_entry_symlink(entry) : ""));
    } else if (type == AE_IFREG) {
      RETURN_IF_ERROR(
          tar.Header(target, AE_IFREG, mode, entry_owner, archive_entry_size(entry), ""));
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      while ((rc = archive_read_data_block(reader.get(), &block, &size, &offset)) == ARCHIVE_OK) {
        RETURN_IF_ERROR(tar.Data(static_cast<const char*>(block), size));
      }
      if (rc != ARCHIVE_EOF) return error();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> LookupId(const std::string& name, const std::string& file,
                                  const char* what) {
  uint32_t id = 0;
  if (absl::SimpleAtoi(name, &id)) return id;
  for (absl::string_view line : absl::StrSplit(file, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ':');
    if (fields.size() >= 3 && fields[0] == name && absl::SimpleAtoi(fields[2], &id)) return id;
  }
  return absl::InvalidArgumentError(absl::StrCat("no such ", what, ": ", name));
}

}  // namespace

absl::StatusOr<Owner> ResolveChown(const std::string& chown, const std::string& passwd,
                                   const std::string& group) {
  Owner owner;
  if (chown.empty()) return owner;
  std::vector<std::string> parts = absl::StrSplit(chown, ':');
  if (parts.size() > 2) {
    return absl::InvalidArgumentError("invalid chown string format: " + chown);
  }
  std::string user = parts[0];
  std::string grp = parts.size() == 2 ? parts[1] : parts[0];
  absl::StatusOr<uint32_t> uid = LookupId(user, passwd, "user");
  if (!uid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("can't find uid for user ", user, ": ", uid.status().message()));
  }
  absl::StatusOr<uint32_t> gid = LookupId(grp, group, "group");
  if (!gid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("can't find gid for group ", grp, ": ", gid.status().message()));
  }
  owner.uid = *uid;
  owner.gid = *gid;
  return owner;
}

absl::Status WriteCopyLayer(const CopyPlan& plan, const SourceTree& source, const Owner& owner,
                            const ExistsFn& exists, const TarSinkFn& sink) {
  TarWriter tar(sink, exists);
  for (const CopyItem& item : plan.items) {
    if (item.target == "/" && item.kind == CopyItem::Kind::kDirectory) continue;
    RETURN_IF_ERROR(tar.Parents(item.target, owner));
    Owner item_owner = owner;
    if (plan.preserve_ownership && item.kind != CopyItem::Kind::kDownload) {
      ASSIGN_OR_RETURN(FileInfo info, source.Lstat(item.source));
      item_owner = Owner{info.uid, info.gid};
    }
    switch (item.kind) {
      case CopyItem::Kind::kDirectory:
        RETURN_IF_ERROR(tar.Header(item.target, AE_IFDIR, item.mode, item_owner, 0, ""));
        break;
      case CopyItem::Kind::kSymlink:
        RETURN_IF_ERROR(tar.Header(item.target, AE_IFLNK, 0777, item_owner, 0, item.link_target));
        break;
      case CopyItem::Kind::kFile:
        RETURN_IF_ERROR(CopyFile(tar, source, item.source, item.target, item.mode, item_owner));
        break;
      case CopyItem::Kind::kExtractArchive:
        RETURN_IF_ERROR(Extract(tar, source, item, owner));
        break;
      case CopyItem::Kind::kDownload:
        return absl::FailedPreconditionError(
            absl::StrCat("ADD failed: ", item.source, " must be downloaded before it is copied"));
    }
  }
  return tar.Close();
}

absl::Status WriteWorkdirLayer(const std::string& dir, const Owner& owner, const ExistsFn& exists,
                               const TarSinkFn& sink) {
  TarWriter tar(sink, exists);
  std::string clean = CleanPath(dir);
  if (clean != "/" && !exists(clean)) {
    RETURN_IF_ERROR(tar.Parents(clean, owner));
    RETURN_IF_ERROR(tar.Header(clean, AE_IFDIR, 0755, owner, 0, ""));
  }
  return tar.Close();
}

}  // namespace berth::imaged::build
