#include "netd/dns/dns_message.h"

#include <catch2/catch.hpp>
#include <random>

namespace berth::netd::dns {
namespace {

// A query for web.example.com A, ID 0x1234, RD.
const std::string kQuery(
    "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    "\x03web\x07"
    "example\x03"
    "com\x00"
    "\x00\x01\x00\x01",
    33);

TEST_CASE("a query parses") {
  auto message = Parse(kQuery);
  REQUIRE(message.ok());
  CHECK(message->id == 0x1234);
  CHECK((message->flags & kFlagRd) != 0);
  CHECK(message->opcode() == 0);
  REQUIRE(message->questions.size() == 1);
  CHECK(message->questions[0].name == "web.example.com");
  CHECK(message->questions[0].type == kTypeA);
  CHECK(message->questions[0].qclass == kClassIn);
}

TEST_CASE("encoding compresses names onto what was already written") {
  Message reply = ReplyTo(*Parse(kQuery), kRcodeNoError);
  reply.answers.push_back({"web.example.com", kTypeA, kClassIn, 600, ARecordData(0x0a000002)});
  reply.answers.push_back({"db.EXAMPLE.com", kTypeA, kClassIn, 600, ARecordData(0x0a000003)});
  auto encoded = Encode(reply);
  REQUIRE(encoded.ok());
  // Header 12 + question 21 + answer 1 (pointer 2 + 10 + 4) + answer 2 ("db"
  // 3 + pointer 2 + 10 + 4).
  CHECK(encoded->size() == 12 + 21 + 16 + 19);
  CHECK(encoded->substr(33, 2) == std::string("\xc0\x0c", 2));
  CHECK(encoded->substr(49, 5) == std::string("\x02"
                                              "db\xc0\x10",
                                              5));
  CHECK(encoded->substr(2, 2) == std::string("\x81\x80", 2));

  auto parsed = Parse(*encoded);
  REQUIRE(parsed.ok());
  CHECK(parsed->rcode() == kRcodeNoError);
  REQUIRE(parsed->answers.size() == 2);
  CHECK(parsed->answers[0].name == "web.example.com");
  CHECK(parsed->answers[0].ttl == 600);
  CHECK(parsed->answers[0].data == std::string("\x0a\x00\x00\x02", 4));
  // The case of the first writer wins for a shared suffix.
  CHECK(parsed->answers[1].name == "db.example.com");
}

TEST_CASE("every truncation of a message is an error, never a read past the end") {
  Message reply = ReplyTo(*Parse(kQuery), kRcodeNoError);
  reply.answers.push_back({"web.example.com", kTypeA, kClassIn, 600, ARecordData(1)});
  reply.additional.push_back({"", kTypeOpt, 4096, 0, ""});
  const std::string full = *Encode(reply);
  REQUIRE(Parse(full).ok());
  for (size_t length = 0; length < full.size(); ++length) {
    INFO(length);
    // Copied so that any read past `length` is a read past the buffer.
    const std::string cut = full.substr(0, length);
    CHECK_FALSE(Parse(cut).ok());
  }
  CHECK(Parse(full + "x").status().message() == "DNS message has trailing bytes");
}

TEST_CASE("compression pointers must point back, so none can loop") {
  // A question whose name is a pointer to itself (offset 12).
  std::string self = kQuery.substr(0, 12) + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  CHECK(Parse(self).status().message() == "DNS name compression pointer does not point back");
  // Forward pointer.
  std::string forward = kQuery.substr(0, 12) + std::string("\xc0\x20\x00\x01\x00\x01", 6);
  CHECK_FALSE(Parse(forward).ok());
  // Two names pointing at each other: the first points forward.
  std::string mutual = kQuery.substr(0, 4) + std::string("\x00\x02\x00\x00\x00\x00\x00\x00", 8) +
                       std::string("\xc0\x12\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01", 12);
  CHECK_FALSE(Parse(mutual).ok());
  // A pointer into the middle of an earlier name is fine.
  std::string middle = kQuery.substr(0, 4) + std::string("\x00\x02\x00\x00\x00\x00\x00\x00", 8) +
                       kQuery.substr(12) + std::string("\xc0\x10\x00\x01\x00\x01", 6);
  auto parsed = Parse(middle);
  REQUIRE(parsed.ok());
  REQUIRE(parsed->questions.size() == 2);
  CHECK(parsed->questions[1].name == "example.com");
  // A pointer cut in half.
  CHECK_FALSE(Parse(kQuery.substr(0, 12) + "\xc0").ok());
  // Reserved label types (0x40, 0x80).
  CHECK(Parse(kQuery.substr(0, 12) + std::string("\x41"
                                                 "a\x00\x00\x01\x00\x01",
                                                 7))
            .status()
            .message() == "DNS name has an unsupported label type");
}

TEST_CASE("names over 255 bytes are refused both ways; labels over 63 cannot be encoded") {
  // 5 labels of 63 = 320 bytes, even through pointers.
  std::string header = kQuery.substr(0, 12);
  std::string name;
  for (int i = 0; i < 5; ++i) name += "\x3f" + std::string(63, 'a');
  CHECK(Parse(header + name + std::string("\x00\x00\x01\x00\x01", 5)).status().message() ==
        "DNS name too long");

  Message message;
  message.questions.push_back({std::string(64, 'a') + ".com", kTypeA, kClassIn});
  CHECK_FALSE(Encode(message).ok());
  message.questions[0].name = "a..com";
  CHECK_FALSE(Encode(message).ok());
  message.questions[0].name = "";
  CHECK(Encode(message).ok());
}

TEST_CASE("random corruption of a message never crashes the parser") {
  Message reply = ReplyTo(*Parse(kQuery), kRcodeNoError);
  reply.answers.push_back({"web.example.com", kTypeA, kClassIn, 600, ARecordData(1)});
  reply.answers.push_back({"x.example.com", kTypeA, kClassIn, 600, ARecordData(2)});
  const std::string full = *Encode(reply);
  std::mt19937 random(42);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string mutated = full;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int f = 0; f < flips; ++f) {
      mutated[random() % mutated.size()] = static_cast<char>(random() & 0xff);
    }
    if (Parse(mutated).ok()) ++parsed;
  }
  // Some mutations (in TTLs, addresses) leave valid messages; most do not.
  CHECK(parsed > 0);
  CHECK(parsed < 20000);
  CHECK(PeekId("\x01").status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::netd::dns
