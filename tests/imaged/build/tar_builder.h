// Build-context tars for the build tests, made with libarchive, and a
// temporary directory that removes itself.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>

#include <string>

#include "common/fs.h"

namespace berth::imaged::build::testing {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/bldXXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() { RemoveAll(path_).IgnoreError(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class TarBuilder {
 public:
  explicit TarBuilder(bool gzip = false) : archive_(archive_write_new()) {
    archive_write_set_format_pax_restricted(archive_);
    if (gzip) archive_write_add_filter_gzip(archive_);
    archive_write_open(archive_, &out_, nullptr, &TarBuilder::Write, nullptr);
  }
  ~TarBuilder() {
    if (archive_ != nullptr) archive_write_free(archive_);
  }
  TarBuilder& File(const std::string& path, const std::string& content, int mode = 0644,
                   long mtime = 1700000000) {
    Entry(path, AE_IFREG, mode, content, "", "", mtime);
    return *this;
  }
  TarBuilder& Dir(const std::string& path, int mode = 0755) {
    Entry(path, AE_IFDIR, mode, "", "", "", 1700000000);
    return *this;
  }
  TarBuilder& Symlink(const std::string& path, const std::string& target) {
    Entry(path, AE_IFLNK, 0777, "", target, "", 1700000000);
    return *this;
  }
  TarBuilder& Hardlink(const std::string& path, const std::string& target) {
    Entry(path, AE_IFREG, 0644, "", "", target, 1700000000);
    return *this;
  }
  std::string Finish() {
    archive_write_close(archive_);
    archive_write_free(archive_);
    archive_ = nullptr;
    return out_;
  }

 private:
  static la_ssize_t Write(struct archive*, void* data, const void* buffer, size_t length) {
    static_cast<std::string*>(data)->append(static_cast<const char*>(buffer), length);
    return static_cast<la_ssize_t>(length);
  }
  void Entry(const std::string& path, unsigned type, int mode, const std::string& content,
             const std::string& symlink, const std::string& hardlink, long mtime) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, path.c_str());
    archive_entry_set_filetype(entry, type);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_size(entry, static_cast<la_int64_t>(content.size()));
    archive_entry_set_mtime(entry, mtime, 0);
    if (!symlink.empty()) archive_entry_set_symlink(entry, symlink.c_str());
    if (!hardlink.empty()) {
      archive_entry_set_hardlink(entry, hardlink.c_str());
      archive_entry_set_size(entry, 0);
    }
    archive_write_header(archive_, entry);
    if (!content.empty()) archive_write_data(archive_, content.data(), content.size());
    archive_entry_free(entry);
  }

  struct archive* archive_;
  std::string out_;
};

}  // namespace berth::imaged::build::testing
