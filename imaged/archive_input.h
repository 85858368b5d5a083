// Feeds a ByteSource to libarchive (archive_read_open with callbacks), keeping
// the source's own error so that it is reported instead of libarchive's.
#pragma once

#include <archive.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "imaged/byte_source.h"

namespace berth::imaged {

struct ArchiveInput {
  ByteSource* source = nullptr;
  std::vector<char> buffer = std::vector<char>(1 << 16);
  absl::Status status;

  static la_ssize_t Read(struct archive* archive, void* data, const void** out) {
    auto* input = static_cast<ArchiveInput*>(data);
    absl::StatusOr<size_t> n = input->source->Read(input->buffer.data(), input->buffer.size());
    if (!n.ok()) {
      input->status = n.status();
      archive_set_error(archive, EIO, "%s", std::string(n.status().message()).c_str());
      return -1;
    }
    *out = input->buffer.data();
    return static_cast<la_ssize_t>(*n);
  }

  // The source's error when it failed, else libarchive's, as InvalidArgument
  // (the input is malformed) prefixed with context.
  absl::Status Error(struct archive* archive, const std::string& context) const {
    if (!status.ok()) return status;
    const char* message = archive_error_string(archive);
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": ", message != nullptr ? message : "unknown error"));
  }
};

}  // namespace berth::imaged
