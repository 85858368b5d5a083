// A tiny runc-style flag parser: `--name value`, `--name=value`, `-n value`,
// boolean flags, and positionals in any order.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::runc {

struct ParsedFlags {
  std::map<std::string, std::string> values;  // keyed by the long name
  std::set<std::string> bools;
  std::vector<std::string> positionals;

  bool Has(const std::string& name) const { return bools.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
};

struct FlagSpec {
  std::string name;        // long name without dashes
  std::string short_name;  // single letter or empty
  bool takes_value;
};

// InvalidArgument `flag provided but not defined: -x` (Go's wording) for
// unknown flags.
absl::StatusOr<ParsedFlags> ParseFlags(const std::vector<std::string>& args,
                                       const std::vector<FlagSpec>& specs);

}  // namespace berth::runc
