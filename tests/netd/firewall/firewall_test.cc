#include "netd/firewall/firewall.h"

#include <catch2/catch.hpp>

namespace berth::netd {
namespace {

// Records the scripts; fails when told to, like a kernel refusing a rule.
class FakeRunner : public NftRunner {
 public:
  absl::StatusOr<std::string> Run(const std::string& script) override {
    if (fail) return absl::InternalError("nftables: Error: syntax error");
    scripts->push_back(script);
    return std::string();
  }
  std::vector<std::string>* scripts;
  bool fail = false;
};

struct Fixture {
  Fixture() {
    auto owned = std::make_unique<FakeRunner>();
    runner = owned.get();
    runner->scripts = &scripts;
    auto created = NftFirewall::Create("t1", std::move(owned));
    REQUIRE(created.ok());
    firewall = std::move(*created);
  }
  std::vector<std::string> scripts;
  FakeRunner* runner;
  std::unique_ptr<NftFirewall> firewall;
};

TEST_CASE("an empty table has berth's four base chains in both families and replaces any old one") {
  const std::string chains =
      "\tchain prerouting {\n"
      "\t\ttype nat hook prerouting priority -100; policy accept;\n"
      "\t}\n"
      "\tchain output {\n"
      "\t\ttype nat hook output priority -100; policy accept;\n"
      "\t}\n"
      "\tchain postrouting {\n"
      "\t\ttype nat hook postrouting priority 100; policy accept;\n"
      "\t}\n"
      "\tchain forward {\n"
      "\t\ttype filter hook forward priority 0; policy accept;\n"
      "\t}\n";
  const std::string script = RenderTableScript("berth_x", {});
  CHECK(script ==
        "add table ip berth_x\n"
        "delete table ip berth_x\n"
        "add table ip6 berth_x\n"
        "delete table ip6 berth_x\n"
        "table ip berth_x {\n" +
            chains +
            "}\n"
            "table ip6 berth_x {\n" +
            chains + "}\n");
}

TEST_CASE("a rule goes to the table of its family, interface-only rules to both") {
  std::map<std::string, std::vector<FirewallRule>> rules;
  rules["networks"] = {
      {Chain::kPostrouting, "ip saddr 10.0.1.0/24 masquerade", 0, Family::kIpv4},
      {Chain::kPostrouting, "ip6 saddr fd00:1::/64 masquerade", 0, Family::kIpv6},
      {Chain::kForward, "iifname \"br-a\" oifname \"br-b\" drop", 0, Family::kBoth}};
  const std::string script = RenderTableScript("berth_x", rules);
  const size_t v6 = script.find("table ip6 berth_x {");
  REQUIRE(v6 != std::string::npos);
  const std::string ip = script.substr(0, v6), ip6 = script.substr(v6);
  CHECK(ip.find("ip saddr 10.0.1.0/24 masquerade") != std::string::npos);
  CHECK(ip.find("fd00:1::") == std::string::npos);
  CHECK(ip6.find("ip6 saddr fd00:1::/64 masquerade") != std::string::npos);
  CHECK(ip6.find("10.0.1.0") == std::string::npos);
  CHECK(ip.find("oifname \"br-b\" drop") != std::string::npos);
  CHECK(ip6.find("oifname \"br-b\" drop") != std::string::npos);
}

TEST_CASE("rules go to their chain ordered by order, then owner, then position") {
  std::map<std::string, std::vector<FirewallRule>> rules;
  rules["network/b"] = {{Chain::kForward, "iifname \"br-b\" accept", 10},
                        {Chain::kPostrouting, "ip saddr 10.0.1.0/24 masquerade", 0}};
  rules["network/a"] = {{Chain::kForward, "iifname \"br-a\" accept", 10},
                        {Chain::kForward, "iifname \"br-a\" oifname \"br-b\" drop", 0}};
  const std::string script = RenderTableScript("berth_x", rules);
  CHECK(script.find("\tchain forward {\n"
                    "\t\ttype filter hook forward priority 0; policy accept;\n"
                    "\t\tiifname \"br-a\" oifname \"br-b\" drop comment \"network/a\"\n"
                    "\t\tiifname \"br-a\" accept comment \"network/a\"\n"
                    "\t\tiifname \"br-b\" accept comment \"network/b\"\n"
                    "\t}\n") != std::string::npos);
  CHECK(script.find("priority 100; policy accept;\n"
                    "\t\tip saddr 10.0.1.0/24 masquerade comment \"network/b\"\n") !=
        std::string::npos);
}

TEST_CASE("nothing reaches the kernel before Sync, everything after it") {
  Fixture f;
  REQUIRE(f.firewall
              ->SetRules("ports/c1", {{Chain::kPrerouting,
                                       "tcp dport 8080 dnat to "
                                       "10.0.0.2:80"}})
              .ok());
  CHECK(f.scripts.empty());
  REQUIRE(f.firewall->Sync().ok());
  REQUIRE(f.scripts.size() == 1);
  CHECK(f.scripts[0].find("tcp dport 8080 dnat to 10.0.0.2:80 comment \"ports/c1\"") !=
        std::string::npos);

  REQUIRE(f.firewall->RemoveRules("ports/c1").ok());
  REQUIRE(f.scripts.size() == 2);
  CHECK(f.scripts[1].find("dnat") == std::string::npos);
  // Removing what is not there writes nothing.
  REQUIRE(f.firewall->RemoveRules("ports/c1").ok());
  CHECK(f.scripts.size() == 2);

  REQUIRE(f.firewall->Destroy().ok());
  CHECK(f.scripts.back() ==
        "add table ip berth_t1\ndelete table ip berth_t1\nadd table ip6 berth_t1\ndelete table ip6 "
        "berth_t1\n");
  REQUIRE(
      f.firewall->SetRules("ports/c2", {{Chain::kOutput, "tcp dport 1 dnat to 10.0.0.3:1"}}).ok());
  CHECK(f.scripts.size() == 3);
}

TEST_CASE("a refused transaction keeps the owner's previous rules") {
  Fixture f;
  REQUIRE(f.firewall->Sync().ok());
  REQUIRE(f.firewall->SetRules("ports/c1", {{Chain::kPrerouting, "tcp dport 1 dnat to 10.0.0.2:1"}})
              .ok());
  f.runner->fail = true;
  absl::Status refused =
      f.firewall->SetRules("ports/c1", {{Chain::kPrerouting, "tcp dport 2 dnat to 10.0.0.2:2"}});
  CHECK(refused.code() == absl::StatusCode::kInternal);
  CHECK(std::string(refused.message()).find("berth_t1") != std::string::npos);
  f.runner->fail = false;
  REQUIRE(
      f.firewall->SetRules("ports/c2", {{Chain::kOutput, "tcp dport 3 dnat to 10.0.0.3:3"}}).ok());
  CHECK(f.scripts.back().find("tcp dport 1 dnat") != std::string::npos);
  CHECK(f.scripts.back().find("tcp dport 2 dnat") == std::string::npos);
}

TEST_CASE("setting an empty list drops the owner") {
  Fixture f;
  REQUIRE(f.firewall->Sync().ok());
  REQUIRE(f.firewall->SetRules("a", {{Chain::kForward, "drop"}}).ok());
  REQUIRE(f.firewall->SetRules("a", {}).ok());
  CHECK(f.scripts.back().find("drop") == std::string::npos);
}

TEST_CASE("rules and names that could inject script text are refused") {
  Fixture f;
  for (const char* text : {"", "accept; flush ruleset", "accept }\nflush ruleset {", "accept }",
                           "tcp dport { 1, 2", "accept # x", "iifname \"x"}) {
    INFO(text);
    CHECK(f.firewall->SetRules("a", {{Chain::kForward, text}}).code() ==
          absl::StatusCode::kInvalidArgument);
  }
  CHECK(f.firewall->SetRules("a", {{Chain::kForward, "tcp dport { 1, 2 } accept"}}).ok());
  CHECK(f.firewall->SetRules("a", {{Chain::kForward, "iifname \"a;b\" accept"}}).ok());
  CHECK(f.firewall->SetRules("a\"b", {{Chain::kForward, "accept"}}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.firewall->SetRules("", {{Chain::kForward, "accept"}}).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(NftFirewall::Create("a-b", std::make_unique<FakeRunner>()).ok());
  CHECK_FALSE(NftFirewall::Create("", std::make_unique<FakeRunner>()).ok());
  CHECK(NftQuote("br-1").value() == "\"br-1\"");
  CHECK_FALSE(NftQuote("a\"b").ok());
  CHECK_FALSE(NftQuote("a\nb").ok());
}

}  // namespace
}  // namespace berth::netd
