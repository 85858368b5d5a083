// The real libnftables runner, in a network namespace of the test's own so
// the host's ruleset is never touched.
#include "netd/firewall/libnft_runner.h"

#include <sched.h>

#include <catch2/catch.hpp>

namespace berth::netd {
namespace {

// Catch2 runs the test cases on the main thread: unsharing it once moves
// every case into the private namespace.
void EnterPrivateNetns() {
  static const bool entered = unshare(CLONE_NEWNET) == 0;
  REQUIRE(entered);
}

std::unique_ptr<NftFirewall> NewFirewall(const std::string& instance) {
  auto runner = NewLibNftRunner();
  REQUIRE(runner.ok());
  auto firewall = NftFirewall::Create(instance, std::move(*runner));
  REQUIRE(firewall.ok());
  return std::move(*firewall);
}

TEST_CASE("Sync replaces a stale table, changes land, Destroy removes it") {
  EnterPrivateNetns();
  auto runner = NewLibNftRunner();
  REQUIRE(runner.ok());
  // What a crashed netd left: a table with a rule nobody restates.
  REQUIRE((*runner)
              ->Run("table ip berth_e1 { chain prerouting { type nat hook prerouting priority "
                    "-100; tcp dport 9999 dnat to 10.9.9.9:1; }; }")
              .ok());

  auto firewall = NewFirewall("e1");
  REQUIRE(firewall
              ->SetRules("ports/c1", {{Chain::kPrerouting,
                                       "iifname != \"br0\" tcp dport 8080 dnat to "
                                       "172.30.0.2:80"},
                                      {Chain::kOutput,
                                       "fib daddr type local tcp dport 8080 dnat to "
                                       "172.30.0.2:80"},
                                      {Chain::kPostrouting,
                                       "ip saddr 172.30.0.0/16 oifname != \"br0\" "
                                       "masquerade"},
                                      {Chain::kForward, "iifname \"br0\" oifname \"br1\" drop"}})
              .ok());
  REQUIRE(firewall->Sync().ok());
  auto listed = firewall->List();
  REQUIRE(listed.ok());
  CHECK(listed->find("9999") == std::string::npos);
  CHECK(listed->find("dnat to 172.30.0.2:80 comment \"ports/c1\"") != std::string::npos);
  CHECK(listed->find("masquerade") != std::string::npos);
  CHECK(listed->find("oifname \"br1\" drop") != std::string::npos);

  REQUIRE(firewall->RemoveRules("ports/c1").ok());
  listed = firewall->List();
  REQUIRE(listed.ok());
  CHECK(listed->find("dnat") == std::string::npos);
  CHECK(listed->find("chain forward") != std::string::npos);

  REQUIRE(firewall->Destroy().ok());
  CHECK_FALSE(firewall->List().ok());
  // Deleting an absent table is fine (a second clean shutdown).
  CHECK(firewall->Destroy().ok());
}

TEST_CASE("a rule the kernel refuses leaves the table as it was, with nft's words") {
  EnterPrivateNetns();
  auto firewall = NewFirewall("e2");
  REQUIRE(firewall->Sync().ok());
  REQUIRE(firewall->SetRules("a", {{Chain::kForward, "iifname \"br0\" drop"}}).ok());
  absl::Status refused = firewall->SetRules("b", {{Chain::kForward, "no such keyword"}});
  CHECK(refused.code() == absl::StatusCode::kInternal);
  CHECK(std::string(refused.message()).find("nftables: Error") != std::string::npos);
  auto listed = firewall->List();
  REQUIRE(listed.ok());
  CHECK(listed->find("iifname \"br0\" drop comment \"a\"") != std::string::npos);
  REQUIRE(firewall->Destroy().ok());
}

TEST_CASE("two instances own two tables") {
  EnterPrivateNetns();
  auto one = NewFirewall("i1");
  auto two = NewFirewall("i2");
  REQUIRE(one->Sync().ok());
  REQUIRE(two->Sync().ok());
  REQUIRE(one->Destroy().ok());
  CHECK(two->List().ok());
  REQUIRE(two->Destroy().ok());
}

}  // namespace
}  // namespace berth::netd
