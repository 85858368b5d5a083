#include "imaged/tar_writer.h"

#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/digest.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

struct EntryDeleter {
  void operator()(struct archive_entry* entry) const { archive_entry_free(entry); }
};

}  // namespace

TarWriter::TarWriter(ByteSink* sink, int64_t mtime)
    : sink_(sink), mtime_(mtime), archive_(archive_write_new()) {}

TarWriter::~TarWriter() { archive_write_free(archive_); }

la_ssize_t TarWriter::WriteCallback(struct archive* archive, void* self, const void* buffer,
                                    size_t length) {
  auto* writer = static_cast<TarWriter*>(self);
  absl::Status status =
      writer->sink_->Write(absl::string_view(static_cast<const char*>(buffer), length));
  if (!status.ok()) {
    writer->sink_status_ = status;
    archive_set_error(archive, EIO, "%s", std::string(status.message()).c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(length);
}

absl::Status TarWriter::Error(const std::string& what) {
  if (!sink_status_.ok()) return sink_status_;
  const char* message = archive_error_string(archive_);
  return absl::InternalError(absl::StrCat(what, ": ", message ? message : "libarchive error"));
}

absl::Status TarWriter::Open() {
  if (archive_write_set_format_pax_restricted(archive_) != ARCHIVE_OK ||
      archive_write_add_filter_none(archive_) != ARCHIVE_OK ||
      // No padding of the last block: the archive ends with its trailer, as
      // Go's archive/tar (Moby) writes it.
      archive_write_set_bytes_in_last_block(archive_, 1) != ARCHIVE_OK) {
    return Error("configuring the tar writer");
  }
  if (archive_write_open(archive_, this, nullptr, WriteCallback, nullptr) != ARCHIVE_OK) {
    return Error("starting the archive");
  }
  return absl::OkStatus();
}

absl::Status TarWriter::Header(const std::string& path, unsigned int type, int mode, int64_t size) {
  std::unique_ptr<struct archive_entry, EntryDeleter> entry(archive_entry_new());
  archive_entry_set_pathname(entry.get(), path.c_str());
  archive_entry_set_filetype(entry.get(), type);
  archive_entry_set_perm(entry.get(), mode);
  archive_entry_set_size(entry.get(), size);
  archive_entry_set_mtime(entry.get(), mtime_, 0);
  archive_entry_set_uid(entry.get(), 0);
  archive_entry_set_gid(entry.get(), 0);
  if (archive_write_header(archive_, entry.get()) != ARCHIVE_OK) {
    return Error("writing the header of " + path);
  }
  return absl::OkStatus();
}

absl::Status TarWriter::WriteData(const char* data, size_t size) {
  while (size > 0) {
    la_ssize_t written = archive_write_data(archive_, data, size);
    if (written <= 0) return Error("writing archive data");
    data += written;
    size -= static_cast<size_t>(written);
  }
  return absl::OkStatus();
}

absl::Status TarWriter::AddDirectory(const std::string& path) {
  return Header(path, AE_IFDIR, 0755, 0);
}

absl::Status TarWriter::AddFile(const std::string& path, absl::string_view data) {
  RETURN_IF_ERROR(Header(path, AE_IFREG, 0644, static_cast<int64_t>(data.size())));
  return WriteData(data.data(), data.size());
}

absl::Status TarWriter::AddStream(const std::string& path, int64_t size, ByteSource& source,
                                  const std::string& expected_digest) {
  RETURN_IF_ERROR(Header(path, AE_IFREG, 0644, size));
  Sha256 hasher;
  std::vector<char> buffer(1 << 20);
  int64_t remaining = size;
  while (remaining > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(remaining, buffer.size()));
    ASSIGN_OR_RETURN(size_t n, source.Read(buffer.data(), want));
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(path, ": content ended ", remaining, " bytes early"));
    }
    hasher.Update(buffer.data(), n);
    RETURN_IF_ERROR(WriteData(buffer.data(), n));
    remaining -= static_cast<int64_t>(n);
  }
  std::string digest = hasher.Finish();
  if (digest != expected_digest) {
    return absl::DataLossError(
        absl::StrCat(path, ": content has digest ", digest, ", expected ", expected_digest));
  }
  return absl::OkStatus();
}

absl::Status TarWriter::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (archive_write_close(archive_) != ARCHIVE_OK) return Error("finishing the archive");
  return absl::OkStatus();
}

}  // namespace berth::imaged
