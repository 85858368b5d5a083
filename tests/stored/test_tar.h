// Builds layer tars in memory with libarchive, for the stored tests.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace berth::testing {

struct TarEntry {
  enum Type { kFile, kDir, kSymlink, kHardlink };
  std::string name;
  Type type = kFile;
  // File content, or the link target.
  std::string data;
  int mode = 0644;
  int uid = 0;
  int gid = 0;
};

inline TarEntry File(std::string name, std::string content, int mode = 0644, int uid = 0) {
  return {std::move(name), TarEntry::kFile, std::move(content), mode, uid, uid};
}
inline TarEntry Dir(std::string name, int mode = 0755, int uid = 0) {
  return {std::move(name), TarEntry::kDir, "", mode, uid, uid};
}
inline TarEntry Symlink(std::string name, std::string target) {
  return {std::move(name), TarEntry::kSymlink, std::move(target), 0777, 0, 0};
}
inline TarEntry Hardlink(std::string name, std::string target) {
  return {std::move(name), TarEntry::kHardlink, std::move(target), 0644, 0, 0};
}

enum class Compression { kNone, kGzip, kZstd };

inline la_ssize_t AppendToString(archive*, void* data, const void* buffer, size_t size) {
  static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), size);
  return static_cast<la_ssize_t>(size);
}

inline std::string MakeTar(const std::vector<TarEntry>& entries,
                           Compression compression = Compression::kNone) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
  if (archive_write_open(a, &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) abort();
  for (const TarEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, 1700000000, 0);
    archive_entry_set_perm(entry, static_cast<mode_t>(e.mode));
    switch (e.type) {
      case TarEntry::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
        break;
      case TarEntry::kDir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, e.data.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, e.data.c_str());
        break;
    }
    if (archive_write_header(a, entry) != ARCHIVE_OK) abort();
    if (e.type == TarEntry::kFile && !e.data.empty()) {
      archive_write_data(a, e.data.data(), e.data.size());
    }
    archive_entry_free(entry);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Compresses bytes as they are (a tar made by MakeTar with compression pads
// its uncompressed stream differently from the plain one).
inline std::string Compress(const std::string& data, Compression compression) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  if (compression == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open(a, &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) abort();
  archive_entry* entry = archive_entry_new();
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_pathname(entry, "data");
  archive_entry_set_size(entry, static_cast<la_int64_t>(data.size()));
  if (archive_write_header(a, entry) != ARCHIVE_OK) abort();
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// A fresh directory with a short path (unix sockets live in some of them).
inline std::string MakeTempDir(const char* prefix = "/tmp/stXXXXXX") {
  std::string dir = prefix;
  if (mkdtemp(dir.data()) == nullptr) abort();
  return dir;
}

}  // namespace berth::testing
