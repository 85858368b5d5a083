#include "netd/dns/resolver.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "netd/dns/dns_message.h"

namespace berth::netd::dns {
namespace {

Decision Reply(const Message& reply, size_t max_size) {
  absl::StatusOr<std::string> encoded = Encode(reply);
  if (!encoded.ok()) return Decision{Decision::kDrop, ""};
  if (encoded->size() > max_size && !reply.answers.empty()) {
    Message cut = reply;
    cut.flags |= kFlagTc;
    while (!cut.answers.empty()) {
      cut.answers.pop_back();
      encoded = Encode(cut);
      if (encoded.ok() && encoded->size() <= max_size) break;
    }
  }
  return Decision{Decision::kReply, *std::move(encoded)};
}

// A header-only answer for a query whose body does not parse.
Decision HeaderOnly(uint16_t id, uint16_t query_flags, uint8_t rcode) {
  Message reply;
  reply.id = id;
  reply.flags = static_cast<uint16_t>(kFlagQr | (query_flags & (0xf << 11)) |
                                      (query_flags & kFlagRd) | kFlagRa | rcode);
  return Reply(reply, kUdpLimit);
}

}  // namespace

Decision Decide(absl::string_view query, const std::string& asker, NameSource* names,
                bool have_upstreams, size_t max_size) {
  absl::StatusOr<Message> parsed = Parse(query);
  if (!parsed.ok()) {
    absl::StatusOr<uint16_t> id = PeekId(query);
    // Too short for flags: nothing to answer. A response: never answer one.
    if (!id.ok() || query.size() < 4 || (static_cast<uint8_t>(query[2]) & 0x80) != 0) {
      return Decision{Decision::kDrop, ""};
    }
    const uint16_t flags = static_cast<uint16_t>((static_cast<uint8_t>(query[2]) << 8) |
                                                 static_cast<uint8_t>(query[3]));
    return HeaderOnly(*id, flags, kRcodeFormErr);
  }
  const Message& message = *parsed;
  if ((message.flags & kFlagQr) != 0) return Decision{Decision::kDrop, ""};
  if (message.opcode() != 0) return Reply(ReplyTo(message, kRcodeNotImp), max_size);
  if (message.questions.size() != 1) return Reply(ReplyTo(message, kRcodeFormErr), max_size);

  const Question& question = message.questions[0];
  std::string name = absl::AsciiStrToLower(question.name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  uint32_t reverse = 0;
  if (question.qclass == kClassIn && question.type == kTypePtr &&
      ParseReverseName(name, &reverse)) {
    const std::string target = names->ReverseLookup(asker, reverse);
    absl::StatusOr<std::string> data = EncodeName(target);
    if (!target.empty() && data.ok()) {
      Message reply = ReplyTo(message, kRcodeNoError);
      reply.answers.push_back({question.name, kTypePtr, kClassIn, kLocalTtl, *data});
      return Reply(reply, max_size);
    }
  }
  if (question.qclass == kClassIn && !name.empty()) {
    std::vector<uint32_t> addresses = names->Lookup(asker, name);
    if (!addresses.empty()) {
      Message reply = ReplyTo(message, kRcodeNoError);
      // Other types of a known name (AAAA without IPv6 among them) are an
      // empty NOERROR, so that resolvers fall back to the A records.
      if (question.type == kTypeA) {
        for (uint32_t address : addresses) {
          reply.answers.push_back(
              {question.name, kTypeA, kClassIn, kLocalTtl, ARecordData(address)});
        }
      } else if (question.type == kTypeAAAA) {
        for (std::string& address : names->Lookup6(asker, name)) {
          reply.answers.push_back(
              {question.name, kTypeAAAA, kClassIn, kLocalTtl, std::move(address)});
        }
      }
      return Reply(reply, max_size);
    }
    if (!absl::StrContains(name, '.')) return Reply(ReplyTo(message, kRcodeNxDomain), max_size);
  }
  if (!have_upstreams) return Reply(ReplyTo(message, kRcodeServFail), max_size);
  return Decision{Decision::kForward, ""};
}

std::string ServFail(absl::string_view query) {
  absl::StatusOr<Message> parsed = Parse(query);
  if (!parsed.ok()) return "";
  absl::StatusOr<std::string> encoded = Encode(ReplyTo(*parsed, kRcodeServFail));
  return encoded.ok() ? *encoded : "";
}

}  // namespace berth::netd::dns
