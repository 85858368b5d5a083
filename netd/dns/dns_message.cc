#include "netd/dns/dns_message.h"

#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::netd::dns {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxName = 255;
constexpr size_t kMaxLabel = 63;

absl::Status Truncated(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("DNS message truncated in ", what));
}

bool Read16(absl::string_view packet, size_t* offset, uint16_t* value) {
  if (packet.size() < 2 || *offset > packet.size() - 2) return false;
  *value = static_cast<uint16_t>((static_cast<uint8_t>(packet[*offset]) << 8) |
                                 static_cast<uint8_t>(packet[*offset + 1]));
  *offset += 2;
  return true;
}

bool Read32(absl::string_view packet, size_t* offset, uint32_t* value) {
  uint16_t high, low;
  if (!Read16(packet, offset, &high) || !Read16(packet, offset, &low)) return false;
  *value = (static_cast<uint32_t>(high) << 16) | low;
  return true;
}

void Put16(std::string* out, uint16_t value) {
  out->push_back(static_cast<char>(value >> 8));
  out->push_back(static_cast<char>(value & 0xff));
}

void Put32(std::string* out, uint32_t value) {
  Put16(out, static_cast<uint16_t>(value >> 16));
  Put16(out, static_cast<uint16_t>(value & 0xffff));
}

absl::StatusOr<Record> ReadRecord(absl::string_view packet, size_t* offset) {
  Record record;
  ASSIGN_OR_RETURN(record.name, ReadName(packet, offset));
  uint16_t length;
  if (!Read16(packet, offset, &record.type) || !Read16(packet, offset, &record.rclass) ||
      !Read32(packet, offset, &record.ttl) || !Read16(packet, offset, &length)) {
    return Truncated("a record");
  }
  if (packet.size() - *offset < length) return Truncated("record data");
  record.data = std::string(packet.substr(*offset, length));
  *offset += length;
  return record;
}

// Writes `name`, reusing any suffix already written (RFC 1035 4.1.4).
// `written` maps lowercased suffixes to their offsets.
absl::Status WriteName(const std::string& name, std::string* out,
                       std::map<std::string, size_t>* written) {
  // "example.com." (fully qualified) is "example.com".
  absl::string_view relative = name;
  if (!relative.empty() && relative.back() == '.') relative.remove_suffix(1);
  std::vector<std::string> labels;
  if (!relative.empty()) labels = absl::StrSplit(relative, '.');
  size_t total = 1;
  for (const std::string& label : labels) {
    if (label.empty() || label.size() > kMaxLabel) {
      return absl::InvalidArgumentError(absl::StrCat("invalid DNS name \"", name, "\""));
    }
    total += label.size() + 1;
  }
  if (total > kMaxName) {
    return absl::InvalidArgumentError(absl::StrCat("DNS name too long: ", name));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    std::string suffix =
        absl::AsciiStrToLower(absl::StrJoin(labels.begin() + i, labels.end(), "."));
    auto found = written->find(suffix);
    if (found != written->end()) {
      Put16(out, static_cast<uint16_t>(0xc000 | found->second));
      return absl::OkStatus();
    }
    // Pointers have 14 bits: later suffixes are written out in full.
    if (out->size() < 0x4000) written->emplace(std::move(suffix), out->size());
    out->push_back(static_cast<char>(labels[i].size()));
    out->append(labels[i]);
  }
  out->push_back('\0');
  return absl::OkStatus();
}

absl::Status WriteRecords(const std::vector<Record>& records, std::string* out,
                          std::map<std::string, size_t>* written) {
  for (const Record& record : records) {
    RETURN_IF_ERROR(WriteName(record.name, out, written));
    if (record.data.size() > 0xffff) return absl::InvalidArgumentError("DNS record too long");
    Put16(out, record.type);
    Put16(out, record.rclass);
    Put32(out, record.ttl);
    Put16(out, static_cast<uint16_t>(record.data.size()));
    out->append(record.data);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadName(absl::string_view packet, size_t* offset) {
  std::string name;
  size_t position = *offset;
  // Where reading resumes after the first pointer.
  size_t resume = 0;
  bool jumped = false;
  size_t encoded_length = 1;
  while (true) {
    if (position >= packet.size()) return Truncated("a name");
    const uint8_t length = static_cast<uint8_t>(packet[position]);
    if ((length & 0xc0) == 0xc0) {
      if (position + 1 >= packet.size()) return Truncated("a name");
      const size_t target = ((length & 0x3f) << 8) | static_cast<uint8_t>(packet[position + 1]);
      // Only strictly backwards: no pointer can loop, and reading ends.
      if (target >= position) {
        return absl::InvalidArgumentError("DNS name compression pointer does not point back");
      }
      if (!jumped) resume = position + 2;
      jumped = true;
      position = target;
      continue;
    }
    if ((length & 0xc0) != 0) {
      return absl::InvalidArgumentError("DNS name has an unsupported label type");
    }
    if (length == 0) {
      *offset = jumped ? resume : position + 1;
      return name;
    }
    encoded_length += length + 1;
    if (encoded_length > kMaxName) return absl::InvalidArgumentError("DNS name too long");
    if (packet.size() - position - 1 < length) return Truncated("a label");
    if (!name.empty()) name.push_back('.');
    name.append(packet.substr(position + 1, length).data(), length);
    position += 1 + length;
  }
}

absl::StatusOr<uint16_t> PeekId(absl::string_view packet) {
  size_t offset = 0;
  uint16_t id;
  if (!Read16(packet, &offset, &id)) return Truncated("the header");
  return id;
}

absl::StatusOr<Message> Parse(absl::string_view packet) {
  if (packet.size() < kHeaderSize) return Truncated("the header");
  Message message;
  size_t offset = 0;
  uint16_t counts[4];
  Read16(packet, &offset, &message.id);
  Read16(packet, &offset, &message.flags);
  for (uint16_t& count : counts) Read16(packet, &offset, &count);
  for (uint16_t i = 0; i < counts[0]; ++i) {
    Question question;
    ASSIGN_OR_RETURN(question.name, ReadName(packet, &offset));
    if (!Read16(packet, &offset, &question.type) || !Read16(packet, &offset, &question.qclass)) {
      return Truncated("a question");
    }
    message.questions.push_back(std::move(question));
  }
  std::vector<Record>* sections[] = {&message.answers, &message.authority, &message.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s + 1]; ++i) {
      ASSIGN_OR_RETURN(Record record, ReadRecord(packet, &offset));
      sections[s]->push_back(std::move(record));
    }
  }
  if (offset != packet.size()) {
    return absl::InvalidArgumentError("DNS message has trailing bytes");
  }
  return message;
}

absl::StatusOr<std::string> Encode(const Message& message) {
  if (message.questions.size() > 0xffff || message.answers.size() > 0xffff ||
      message.authority.size() > 0xffff || message.additional.size() > 0xffff) {
    return absl::InvalidArgumentError("DNS message has too many records");
  }
  std::string out;
  Put16(&out, message.id);
  Put16(&out, message.flags);
  Put16(&out, static_cast<uint16_t>(message.questions.size()));
  Put16(&out, static_cast<uint16_t>(message.answers.size()));
  Put16(&out, static_cast<uint16_t>(message.authority.size()));
  Put16(&out, static_cast<uint16_t>(message.additional.size()));
  std::map<std::string, size_t> written;
  for (const Question& question : message.questions) {
    RETURN_IF_ERROR(WriteName(question.name, &out, &written));
    Put16(&out, question.type);
    Put16(&out, question.qclass);
  }
  RETURN_IF_ERROR(WriteRecords(message.answers, &out, &written));
  RETURN_IF_ERROR(WriteRecords(message.authority, &out, &written));
  RETURN_IF_ERROR(WriteRecords(message.additional, &out, &written));
  return out;
}

Message ReplyTo(const Message& query, uint8_t rcode) {
  Message reply;
  reply.id = query.id;
  reply.flags = static_cast<uint16_t>(kFlagQr | (query.flags & (0xf << 11)) |
                                      (query.flags & kFlagRd) | kFlagRa | (rcode & 0xf));
  reply.questions = query.questions;
  return reply;
}

absl::StatusOr<std::string> EncodeName(const std::string& name) {
  std::string out;
  // Nothing written yet: nothing to point at.
  std::map<std::string, size_t> written;
  RETURN_IF_ERROR(WriteName(name, &out, &written));
  return out;
}

bool ParseReverseName(const std::string& name, uint32_t* address) {
  std::vector<std::string> labels = absl::StrSplit(absl::AsciiStrToLower(name), '.');
  if (labels.size() != 6 || labels[4] != "in-addr" || labels[5] != "arpa") return false;
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) {
    int octet;
    const std::string& label = labels[static_cast<size_t>(i)];
    if (label.empty() || label.size() > 3 || !absl::SimpleAtoi(label, &octet) || octet < 0 ||
        octet > 255) {
      return false;
    }
    value = (value << 8) | static_cast<uint32_t>(octet);
  }
  *address = value;
  return true;
}

std::string ARecordData(uint32_t address) {
  std::string data;
  Put32(&data, address);
  return data;
}

}  // namespace berth::netd::dns
