#include "netd/firewall/firewall.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth::netd {
namespace {

struct ChainSpec {
  Chain chain;
  const char* name;
  const char* hook;
};

// Numeric priorities: symbolic ones (dstnat, srcnat) are not known to every
// nft version still in use.
constexpr ChainSpec kChains[] = {
    {Chain::kPrerouting, "prerouting", "type nat hook prerouting priority -100; policy accept;"},
    {Chain::kOutput, "output", "type nat hook output priority -100; policy accept;"},
    {Chain::kPostrouting, "postrouting", "type nat hook postrouting priority 100; policy accept;"},
    {Chain::kForward, "forward", "type filter hook forward priority 0; policy accept;"},
};

// A rule is placed inside a `chain { }` block of the script: it must not be
// able to end the block or start another command.
absl::Status ValidateRuleText(const FirewallRule& rule) {
  const absl::Status malformed =
      absl::InvalidArgumentError(absl::StrCat("malformed firewall rule \"", rule.text, "\""));
  if (rule.text.empty()) return malformed;
  int depth = 0;
  bool quoted = false;
  for (char c : rule.text) {
    if (c == '\n' || c == '\r') return malformed;
    if (c == '"') quoted = !quoted;
    if (quoted) continue;
    // A statement separator or a comment would end the rule early.
    if (c == ';' || c == '#') return malformed;
    if (c == '{') ++depth;
    if (c == '}' && --depth < 0) return malformed;
  }
  return depth == 0 && !quoted ? absl::OkStatus() : malformed;
}

}  // namespace

bool IsValidNftName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

absl::StatusOr<std::string> NftQuote(const std::string& value) {
  // nft's scanner has no escapes inside "...": a quote cannot be carried.
  for (char c : value) {
    if (c == '"' || c == '\\' || !isprint(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", value, "\" cannot be written as an nftables string"));
    }
  }
  return absl::StrCat("\"", value, "\"");
}

std::string RenderTableScript(const std::string& table,
                              const std::map<std::string, std::vector<FirewallRule>>& rules) {
  // `add` then `delete` removes a table whether or not it exists; in the same
  // transaction as the new tables, so there is no moment without rules.
  std::string script = RenderDeleteScript(table);
  for (const auto& [family, name] : {std::pair<Family, const char*>{Family::kIpv4, "ip"},
                                     std::pair<Family, const char*>{Family::kIpv6, "ip6"}}) {
    absl::StrAppend(&script, "table ", name, " ", table, " {\n");
    for (const ChainSpec& spec : kChains) {
      // (order, owner, index in owner's list) -> rule.
      std::vector<std::tuple<int, const std::string*, size_t, const FirewallRule*>> placed;
      for (const auto& [owner, list] : rules) {
        for (size_t i = 0; i < list.size(); ++i) {
          const bool here = list[i].family == family || list[i].family == Family::kBoth;
          if (here && list[i].chain == spec.chain) {
            placed.emplace_back(list[i].order, &owner, i, &list[i]);
          }
        }
      }
      std::sort(placed.begin(), placed.end(), [](const auto& a, const auto& b) {
        return std::tie(std::get<0>(a), *std::get<1>(a), std::get<2>(a)) <
               std::tie(std::get<0>(b), *std::get<1>(b), std::get<2>(b));
      });
      absl::StrAppend(&script, "\tchain ", spec.name, " {\n\t\t", spec.hook, "\n");
      for (const auto& [order, owner, index, rule] : placed) {
        absl::StrAppend(&script, "\t\t", rule->text, " comment \"", *owner, "\"\n");
      }
      absl::StrAppend(&script, "\t}\n");
    }
    absl::StrAppend(&script, "}\n");
  }
  return script;
}

std::string RenderDeleteScript(const std::string& table) {
  return absl::StrCat("add table ip ", table, "\ndelete table ip ", table, "\nadd table ip6 ",
                      table, "\ndelete table ip6 ", table, "\n");
}

absl::StatusOr<std::unique_ptr<NftFirewall>> NftFirewall::Create(
    const std::string& instance, std::unique_ptr<NftRunner> runner) {
  if (!IsValidNftName(instance) || instance.size() > 40) {
    return absl::InvalidArgumentError(absl::StrCat("invalid firewall instance \"", instance,
                                                   "\": use up to 40 letters, digits and _"));
  }
  return std::unique_ptr<NftFirewall>(new NftFirewall("berth_" + instance, std::move(runner)));
}

absl::Status NftFirewall::WriteLocked(
    const std::map<std::string, std::vector<FirewallRule>>& rules) {
  if (!live_) return absl::OkStatus();
  absl::StatusOr<std::string> ran = runner_->Run(RenderTableScript(table_, rules));
  if (!ran.ok()) return Annotate(ran.status(), "write table " + table_);
  return absl::OkStatus();
}

absl::Status NftFirewall::Sync() {
  std::lock_guard<std::mutex> lock(mu_);
  live_ = true;
  absl::Status written = WriteLocked(rules_);
  if (!written.ok()) live_ = false;
  return written;
}

absl::Status NftFirewall::Destroy() {
  std::lock_guard<std::mutex> lock(mu_);
  live_ = false;
  absl::StatusOr<std::string> ran = runner_->Run(RenderDeleteScript(table_));
  if (!ran.ok()) return Annotate(ran.status(), "delete table " + table_);
  return absl::OkStatus();
}

absl::Status NftFirewall::SetRules(const std::string& owner, std::vector<FirewallRule> rules) {
  // The owner becomes each rule's comment, which nft limits to 128 bytes.
  if (owner.empty() || owner.size() > 128 || !NftQuote(owner).ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid firewall owner \"", owner, "\""));
  }
  for (const FirewallRule& rule : rules) RETURN_IF_ERROR(ValidateRuleText(rule));
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<FirewallRule>> next = rules_;
  if (rules.empty()) {
    next.erase(owner);
  } else {
    next[owner] = std::move(rules);
  }
  RETURN_IF_ERROR(WriteLocked(next));
  rules_ = std::move(next);
  return absl::OkStatus();
}

absl::Status NftFirewall::RemoveRules(const std::string& owner) {
  std::lock_guard<std::mutex> lock(mu_);
  if (rules_.count(owner) == 0) return absl::OkStatus();
  std::map<std::string, std::vector<FirewallRule>> next = rules_;
  next.erase(owner);
  RETURN_IF_ERROR(WriteLocked(next));
  rules_ = std::move(next);
  return absl::OkStatus();
}

absl::StatusOr<std::string> NftFirewall::List() {
  // One list command per run: nft refuses a batch of several.
  ASSIGN_OR_RETURN(std::string ip, runner_->Run(absl::StrCat("list table ip ", table_)));
  ASSIGN_OR_RETURN(std::string ip6, runner_->Run(absl::StrCat("list table ip6 ", table_)));
  return ip + ip6;
}

}  // namespace berth::netd
