#include "netd/dns/resolver.h"

#include <catch2/catch.hpp>
#include <map>

#include "netd/dns/dns_message.h"

namespace berth::netd::dns {
namespace {

class FakeNames : public NameSource {
 public:
  std::vector<uint32_t> Lookup(const std::string& asker, const std::string& name) override {
    asked.push_back(asker + " " + name);
    auto it = names.find(name);
    return it == names.end() ? std::vector<uint32_t>() : it->second;
  }
  std::vector<std::string> Lookup6(const std::string& asker, const std::string& name) override {
    auto it = names6.find(name);
    return it == names6.end() ? std::vector<std::string>() : it->second;
  }
  std::string ReverseLookup(const std::string& asker, uint32_t address) override {
    return address == 0xac120002 ? "web.mynet" : "";
  }
  // fd00:1::2
  std::map<std::string, std::vector<std::string>> names6 = {
      {"web6", {std::string("\xfd\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\x02", 16)}}};
  std::map<std::string, std::vector<uint32_t>> names = {
      {"web", {0xac120002}}, {"web6", {0xac120004}}, {"db.mynet", {0xac120003}}};
  std::vector<std::string> asked;
};

std::string Query(const std::string& name, uint16_t type = kTypeA, uint16_t id = 7) {
  Message query;
  query.id = id;
  query.flags = kFlagRd;
  query.questions.push_back({name, type, kClassIn});
  return *Encode(query);
}

Message Answer(const Decision& decision) {
  REQUIRE(decision.action == Decision::kReply);
  auto parsed = Parse(decision.reply);
  REQUIRE(parsed.ok());
  return *parsed;
}

TEST_CASE("names of the asker's networks get A records with Docker's TTL") {
  FakeNames names;
  Message answer = Answer(Decide(Query("WEB."), "c1", &names, true, kUdpLimit));
  CHECK(names.asked == std::vector<std::string>{"c1 web"});
  CHECK(answer.id == 7);
  CHECK((answer.flags & kFlagQr) != 0);
  CHECK((answer.flags & kFlagRd) != 0);
  CHECK(answer.rcode() == kRcodeNoError);
  REQUIRE(answer.questions.size() == 1);
  CHECK(answer.questions[0].name == "WEB");
  REQUIRE(answer.answers.size() == 1);
  CHECK(answer.answers[0].ttl == kLocalTtl);
  CHECK(answer.answers[0].data == std::string("\xac\x12\x00\x02", 4));

  Message dotted = Answer(Decide(Query("db.mynet"), "c1", &names, true, kUdpLimit));
  REQUIRE(dotted.answers.size() == 1);
}

TEST_CASE("PTR queries for the addresses of the asker's networks name the container") {
  FakeNames names;
  Message answer =
      Answer(Decide(Query("2.0.18.172.IN-ADDR.arpa", kTypePtr), "c1", &names, true, kUdpLimit));
  CHECK(answer.rcode() == kRcodeNoError);
  REQUIRE(answer.answers.size() == 1);
  CHECK(answer.answers[0].type == kTypePtr);
  CHECK(answer.answers[0].data == std::string("\x03web\x05mynet\x00", 11));
  // Other addresses, and malformed reverse names, are someone else's.
  CHECK(Decide(Query("3.0.18.172.in-addr.arpa", kTypePtr), "c1", &names, true, kUdpLimit).action ==
        Decision::kForward);
  CHECK(Decide(Query("2.0.18.300.in-addr.arpa", kTypePtr), "c1", &names, true, kUdpLimit).action ==
        Decision::kForward);
  uint32_t address = 0;
  CHECK(ParseReverseName("4.3.2.1.in-addr.arpa", &address));
  CHECK(address == 0x01020304);
  CHECK_FALSE(ParseReverseName("3.2.1.in-addr.arpa", &address));
  CHECK_FALSE(ParseReverseName("a.3.2.1.in-addr.arpa", &address));
  CHECK_FALSE(ParseReverseName("4.3.2.1.ip6.arpa", &address));
}

TEST_CASE("AAAA and other types of a known name are an empty NOERROR") {
  FakeNames names;
  for (uint16_t type : {kTypeAAAA, uint16_t{15}}) {
    Message answer = Answer(Decide(Query("web", type), "c1", &names, true, kUdpLimit));
    CHECK(answer.rcode() == kRcodeNoError);
    CHECK(answer.answers.empty());
  }
}

TEST_CASE("AAAA queries of a name with IPv6 addresses get AAAA records") {
  FakeNames names;
  Message answer = Answer(Decide(Query("web6", kTypeAAAA), "c1", &names, true, kUdpLimit));
  CHECK(answer.rcode() == kRcodeNoError);
  REQUIRE(answer.answers.size() == 1);
  CHECK(answer.answers[0].type == kTypeAAAA);
  CHECK(answer.answers[0].ttl == kLocalTtl);
  CHECK(answer.answers[0].data == names.names6["web6"][0]);
  // The A query of the same name still gets only its A record.
  Message a = Answer(Decide(Query("web6"), "c1", &names, true, kUdpLimit));
  REQUIRE(a.answers.size() == 1);
  CHECK(a.answers[0].type == kTypeA);
}

TEST_CASE("unknown names: single labels are NXDOMAIN here, others go upstream or SERVFAIL") {
  FakeNames names;
  CHECK(Answer(Decide(Query("nosuch"), "c1", &names, true, kUdpLimit)).rcode() == kRcodeNxDomain);
  CHECK(Decide(Query("example.com"), "c1", &names, true, kUdpLimit).action == Decision::kForward);
  // The root and other classes are not ours either.
  CHECK(Decide(Query(""), "c1", &names, true, kUdpLimit).action == Decision::kForward);
  Message failed = Answer(Decide(Query("example.com"), "c1", &names, false, kUdpLimit));
  CHECK(failed.rcode() == kRcodeServFail);
  CHECK(failed.questions[0].name == "example.com");
  Message from_servfail = *Parse(ServFail(Query("example.com", kTypeA, 99)));
  CHECK(from_servfail.id == 99);
  CHECK(from_servfail.rcode() == kRcodeServFail);
  CHECK(ServFail("junk").empty());
}

TEST_CASE("malformed queries: FORMERR when there is a header to answer, else nothing") {
  FakeNames names;
  CHECK(Decide("\x01", "c1", &names, true, kUdpLimit).action == Decision::kDrop);
  std::string cut = Query("web").substr(0, 16);
  Message formerr = Answer(Decide(cut, "c1", &names, true, kUdpLimit));
  CHECK(formerr.id == 7);
  CHECK(formerr.rcode() == kRcodeFormErr);
  // Responses are never answered (no loops between two resolvers).
  std::string response = Query("web");
  response[2] = static_cast<char>(response[2] | 0x80);
  CHECK(Decide(response, "c1", &names, true, kUdpLimit).action == Decision::kDrop);
  // Two questions.
  Message two = *Parse(Query("web"));
  two.questions.push_back(two.questions[0]);
  CHECK(Answer(Decide(*Encode(two), "c1", &names, true, kUdpLimit)).rcode() == kRcodeFormErr);
  // Opcodes other than QUERY.
  Message status = *Parse(Query("web"));
  status.flags |= 2 << 11;
  Message notimp = Answer(Decide(*Encode(status), "c1", &names, true, kUdpLimit));
  CHECK(notimp.rcode() == kRcodeNotImp);
  CHECK(notimp.opcode() == 2);
}

TEST_CASE("an answer too big for UDP is cut to fit and flagged truncated") {
  FakeNames names;
  std::vector<uint32_t> many;
  for (uint32_t i = 0; i < 100; ++i) many.push_back(0x0a000000 + i);
  names.names["big"] = many;
  Decision udp = Decide(Query("big"), "c1", &names, true, kUdpLimit);
  CHECK(udp.reply.size() <= kUdpLimit);
  Message cut = Answer(udp);
  CHECK((cut.flags & kFlagTc) != 0);
  CHECK(cut.answers.size() == (kUdpLimit - 12 - 8) / 16);
  Message whole = Answer(Decide(Query("big"), "c1", &names, true, 65535));
  CHECK((whole.flags & kFlagTc) == 0);
  CHECK(whole.answers.size() == 100);
}

}  // namespace
}  // namespace berth::netd::dns
