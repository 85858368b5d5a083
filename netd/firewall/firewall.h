// berth's packet-filter rules: ONE nftables table per engine instance
// (`ip berth_<instance>`), so parallel engines on one host never touch each
// other's rules and nothing berth does touches the host's own tables.
//
// Every part of netd that needs rules (a network's masquerade and isolation,
// a container's published ports) is an "owner" that states the complete list
// of its rules; the firewall keeps all owners' lists and rewrites the whole
// table from them in ONE nftables transaction per change. The kernel thus
// always holds exactly what netd's state says: a change either lands entirely
// or not at all, and after a crash the first write (Sync at start, once the
// owners have restated their rules from the database) drops every stale rule.
// Rewriting a table does not disturb established connections: their NAT
// bindings live in conntrack, not in the rules.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::netd {

// The base chains of berth's table.
enum class Chain {
  // nat, hook prerouting, priority dstnat (-100): DNAT of traffic arriving
  // from other hosts and from containers (published ports).
  kPrerouting,
  // nat, hook output, priority -100: DNAT of connections the host itself
  // opens to one of its own addresses (published ports, except 127.0.0.0/8
  // which the userland proxy serves).
  kOutput,
  // nat, hook postrouting, priority srcnat (100): masquerade.
  kPostrouting,
  // filter, hook forward, priority filter (0), policy accept: isolation
  // between networks, --internal networks.
  kForward,
};

// Which of the instance's two tables (`ip` and `ip6 berth_<instance>`, written
// in the same transaction) a rule goes to.
enum class Family {
  kIpv4,
  kIpv6,
  // Rules that match no address (interface names only): both tables.
  kBoth,
};

struct FirewallRule {
  Chain chain = Chain::kForward;
  // One rule in nft syntax, as it would follow `nft add rule ip <table>
  // <chain>`, e.g. `ip saddr 172.18.0.0/16 oifname != "br-1a2b" masquerade`.
  // Without a `comment`: the firewall tags each rule with its owner.
  std::string text;
  // Lower orders come first in their chain (e.g. isolation drops before
  // accepts); equal orders keep owner-name order, then the owner's own order.
  int order = 0;
  Family family = Family::kIpv4;
};

// What owners see: replace or drop their rules. Safe from any thread.
class Firewall {
 public:
  virtual ~Firewall() = default;

  // Makes `rules` the complete list of `owner`'s rules (e.g. owner
  // "network/<id>" or "ports/<container id>"), in one transaction. On error
  // the kernel and the firewall keep the owner's previous rules.
  virtual absl::Status SetRules(const std::string& owner, std::vector<FirewallRule> rules) = 0;

  // Drops every rule of `owner`; unknown owners are fine.
  virtual absl::Status RemoveRules(const std::string& owner) = 0;
};

// The seam to the kernel: runs one nft script as one transaction in the
// calling thread's network namespace and returns what it printed.
class NftRunner {
 public:
  virtual ~NftRunner() = default;
  virtual absl::StatusOr<std::string> Run(const std::string& script) = 0;
};

// Docker-style names make nft identifiers and strings; anything else is
// refused so that no name can inject syntax into a script.
bool IsValidNftName(const std::string& name);

// Quotes `value` as an nft string literal (interface names, comments).
// Returns InvalidArgument for characters nft cannot carry in a string.
absl::StatusOr<std::string> NftQuote(const std::string& value);

// The script that replaces `table` (in both the ip and ip6 families) with
// tables holding berth's base chains and `rules` (owner -> rules), as one
// transaction. Pure: unit-tested as text.
std::string RenderTableScript(const std::string& table,
                              const std::map<std::string, std::vector<FirewallRule>>& rules);

// The script that deletes `table` (ip and ip6) whether or not it exists.
std::string RenderDeleteScript(const std::string& table);

class NftFirewall final : public Firewall {
 public:
  // `instance` names the table `berth_<instance>` ([A-Za-z0-9_] only). Nothing
  // reaches the kernel before Sync(): owners may restate their rules first.
  static absl::StatusOr<std::unique_ptr<NftFirewall>> Create(const std::string& instance,
                                                             std::unique_ptr<NftRunner> runner);

  // Writes the table from the rules known now, replacing whatever a previous
  // netd left (stale rules of a crash included). Called once at start; every
  // SetRules/RemoveRules after it writes the table too.
  absl::Status Sync();

  // Deletes the table (clean shutdown). Later changes are kept in memory only.
  absl::Status Destroy();

  absl::Status SetRules(const std::string& owner, std::vector<FirewallRule> rules) override;
  absl::Status RemoveRules(const std::string& owner) override;

  const std::string& table() const { return table_; }
  // `nft list table` of the table, for diagnostics and tests.
  absl::StatusOr<std::string> List();

 private:
  NftFirewall(std::string table, std::unique_ptr<NftRunner> runner)
      : table_(std::move(table)), runner_(std::move(runner)) {}
  absl::Status WriteLocked(const std::map<std::string, std::vector<FirewallRule>>& rules);

  const std::string table_;
  std::unique_ptr<NftRunner> runner_;
  std::mutex mu_;
  std::map<std::string, std::vector<FirewallRule>> rules_;
  // True between Sync() and Destroy(): changes are written to the kernel.
  bool live_ = false;
};

}  // namespace berth::netd
