#include "imaged/spooled_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "imaged/archive_input.h"

namespace berth::imaged {

absl::StatusOr<std::string> CleanArchivePath(const std::string& path) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (parts.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid archive: path \"", path, "\" leaves the archive"));
      }
      parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<std::unique_ptr<SpooledArchive>> SpooledArchive::Read(ByteSource& source,
                                                                     ContentStore& content) {
  std::unique_ptr<SpooledArchive> spooled(new SpooledArchive());
  struct archive* archive = archive_read_new();
  archive_read_support_filter_all(archive);
  archive_read_support_format_tar(archive);
  archive_read_support_format_gnutar(archive);
  ArchiveInput input;
  input.source = &source;
  absl::Status status;
  if (archive_read_open(archive, &input, nullptr, ArchiveInput::Read, nullptr) != ARCHIVE_OK) {
    status = input.Error(archive, "invalid archive");
  }
  std::vector<char> buffer(1 << 20);
  while (status.ok()) {
    struct archive_entry* entry = nullptr;
    int rc = archive_read_next_header(archive, &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      status = input.Error(archive, "invalid archive");
      break;
    }
    absl::StatusOr<std::string> path = CleanArchivePath(archive_entry_pathname(entry));
    if (!path.ok()) {
      status = path.status();
      break;
    }
    if (const char* hardlink = archive_entry_hardlink(entry)) {
      absl::StatusOr<std::string> target = CleanArchivePath(hardlink);
      if (!target.ok()) {
        status = target.status();
        break;
      }
      spooled->links_[*path] = *target;
      continue;
    }
    mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      std::string target = archive_entry_symlink(entry);
      std::string dir =
          path->find('/') == std::string::npos ? "" : path->substr(0, path->rfind('/'));
      absl::StatusOr<std::string> cleaned =
          CleanArchivePath(!target.empty() && target[0] == '/' ? target : dir + "/" + target);
      if (!cleaned.ok()) {
        status = cleaned.status();
        break;
      }
      spooled->links_[*path] = *cleaned;
      continue;
    }
    if (type != AE_IFREG) continue;
    absl::StatusOr<std::unique_ptr<ContentWriter>> writer = content.NewWriter();
    if (!writer.ok()) {
      status = writer.status();
      break;
    }
    while (true) {
      la_ssize_t n = archive_read_data(archive, buffer.data(), buffer.size());
      if (n < 0) {
        status = input.Error(archive, "invalid archive");
        break;
      }
      if (n == 0) break;
      status = (*writer)->Write(absl::string_view(buffer.data(), static_cast<size_t>(n)));
      if (!status.ok()) break;
    }
    if (!status.ok()) break;
    absl::StatusOr<std::string> digest = (*writer)->Finish();
    if (!digest.ok()) {
      status = digest.status();
      break;
    }
    spooled->files_[*path] = std::move(*writer);
  }
  archive_read_free(archive);
  RETURN_IF_ERROR(status);
  return spooled;
}

ContentWriter* SpooledArchive::Find(const std::string& path) const {
  absl::StatusOr<std::string> current = CleanArchivePath(path);
  if (!current.ok()) return nullptr;
  std::string name = *current;
  // Bounded: a link cycle must not hang the load.
  for (int hops = 0; hops < 16; ++hops) {
    auto file = files_.find(name);
    if (file != files_.end()) return file->second.get();
    auto link = links_.find(name);
    if (link == links_.end()) return nullptr;
    name = link->second;
  }
  return nullptr;
}

}  // namespace berth::imaged
