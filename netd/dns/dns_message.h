// DNS messages (RFC 1035) as the embedded server needs them: a parser that
// never trusts its input (truncated packets, compression pointers that point
// forward, at themselves or in circles, labels and names over the limits are
// all errors, never reads past the end) and an encoder that compresses names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::netd::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypePtr = 12;
inline constexpr uint16_t kTypeAAAA = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;

// Header flag bits.
inline constexpr uint16_t kFlagQr = 0x8000;
inline constexpr uint16_t kFlagAa = 0x0400;
inline constexpr uint16_t kFlagTc = 0x0200;
inline constexpr uint16_t kFlagRd = 0x0100;
inline constexpr uint16_t kFlagRa = 0x0080;

struct Question {
  // Dotted, without the trailing dot ("" for the root), case as sent.
  std::string name;
  uint16_t type = kTypeA;
  uint16_t qclass = kClassIn;
};

struct Record {
  std::string name;
  uint16_t type = kTypeA;
  uint16_t rclass = kClassIn;
  uint32_t ttl = 0;
  // Raw RDATA (names inside it are not decompressed: the server only builds
  // A records and relays everything else untouched).
  std::string data;
};

struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;

  uint8_t opcode() const { return (flags >> 11) & 0xf; }
  uint8_t rcode() const { return flags & 0xf; }
};

// Reads the (possibly compressed) name at *offset, leaving *offset after it.
absl::StatusOr<std::string> ReadName(absl::string_view packet, size_t* offset);

// InvalidArgument naming what is wrong for anything that is not a complete,
// well-formed message.
absl::StatusOr<Message> Parse(absl::string_view packet);

// Only the 16-bit ID, for answering a message that does not parse.
absl::StatusOr<uint16_t> PeekId(absl::string_view packet);

// Encodes with name compression; a trailing dot on a name is dropped. InvalidArgument for names
// that cannot be encoded (empty labels, a label over 63 bytes, a name over 255).
absl::StatusOr<std::string> Encode(const Message& message);

// An answer to `query` with its questions, flags QR, RA, RD as asked, and
// `rcode`, and no records.
Message ReplyTo(const Message& query, uint8_t rcode);

// `name` in wire form without compression, for names inside RDATA (PTR).
absl::StatusOr<std::string> EncodeName(const std::string& name);

// The host-order address of "4.3.2.1.in-addr.arpa" (any case); false for
// any other name.
bool ParseReverseName(const std::string& name, uint32_t* address);

// An A record's RDATA from a host-order IPv4 address.
std::string ARecordData(uint32_t address);

}  // namespace berth::netd::dns
