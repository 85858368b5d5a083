#include "imaged/build/output.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/digest.h"

namespace berth::imaged::build {
namespace {

// Length of the valid UTF-8 sequence at s[i], 0 when invalid.
size_t Utf8Length(const std::string& s, size_t i, uint32_t* rune) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  uint32_t value = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char next = static_cast<unsigned char>(s[i + k]);
    if ((next & 0xC0) != 0x80) return 0;
    value = (value << 6) | (next & 0x3F);
  }
  // Overlong forms and surrogates are invalid, as in Go.
  if ((n == 2 && value < 0x80) || (n == 3 && value < 0x800) || (n == 4 && value < 0x10000) ||
      (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF) {
    return 0;
  }
  *rune = value;
  return n;
}

}  // namespace

std::string GoJsonString(const std::string& text) {
  std::string out = "\"";
  char buffer[8];
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
            out += buffer;
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    uint32_t rune = 0;
    size_t n = Utf8Length(text, i, &rune);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (rune == 0x2028 || rune == 0x2029) {
      std::snprintf(buffer, sizeof(buffer), "\\u%04x", rune);
      out += buffer;
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out + "\"";
}

std::string StreamMessage(const std::string& text) {
  return absl::StrCat("{\"stream\":", GoJsonString(text), "}\r\n");
}

std::string AuxIdMessage(const std::string& image_id) {
  return absl::StrCat("{\"aux\":{\"ID\":", GoJsonString(image_id), "}}\r\n");
}

std::string ErrorMessage(const std::string& message, int code) {
  std::string detail =
      code != 0 ? absl::StrCat("{\"code\":", code, ",\"message\":") : std::string("{\"message\":");
  return absl::StrCat("{\"errorDetail\":", detail, GoJsonString(message),
                      "},\"error\":", GoJsonString(message), "}\r\n");
}

std::string ShortId(const std::string& id) {
  std::string hex = absl::StartsWith(id, "sha256:") ? id.substr(7) : id;
  return hex.substr(0, 12);
}

std::string CacheKey(const std::string& parent_image_id, const std::string& cache_text,
                     const std::string& copy_checksum) {
  // Length prefixes keep the parts apart whatever they contain.
  return Sha256Digest(absl::StrCat("berth-build-cache-v1\n", parent_image_id.size(), ":",
                                   parent_image_id, cache_text.size(), ":", cache_text,
                                   copy_checksum.size(), ":", copy_checksum));
}

absl::Status BuildOutput::Write(const std::string& message, bool suppressible) {
  started_ = true;
  if (quiet_ && suppressible) {
    held_ += message;
  } else {
    pending_ += message;
  }
  return absl::OkStatus();
}

absl::Status BuildOutput::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  last_flush_ = clock_();
  std::string bytes;
  bytes.swap(pending_);
  return sink_(bytes);
}

absl::Status BuildOutput::FlushDue() {
  if (pending_.empty() || clock_() - last_flush_ < kFlushInterval) return absl::OkStatus();
  return Flush();
}

absl::Status BuildOutput::Stream(const std::string& text) {
  return Write(StreamMessage(text), true);
}

absl::Status BuildOutput::Aux(const std::string& image_id) {
  return Write(AuxIdMessage(image_id), true);
}

absl::Status BuildOutput::StepLine(int step, int total, const std::string& original) {
  absl::Status status = Stream(absl::StrCat("Step ", step, "/", total, " : ", original));
  if (!status.ok()) return status;
  return Stream("\n");
}

absl::Status BuildOutput::Error(const std::string& message, int code) {
  started_ = true;
  std::string bytes;
  bytes.swap(held_);
  bytes += pending_;
  pending_.clear();
  bytes += ErrorMessage(message, code);
  return last_sink_ ? last_sink_(bytes) : sink_(bytes);
}

absl::Status BuildOutput::Finish(const std::string& image_id) {
  if (quiet_) {
    held_.clear();
    pending_ += StreamMessage(image_id + "\n");
  }
  if (!last_sink_) return Flush();
  if (pending_.empty()) return absl::OkStatus();
  std::string bytes;
  bytes.swap(pending_);
  return last_sink_(bytes);
}

}  // namespace berth::imaged::build
