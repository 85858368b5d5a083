// Docker's `filters` query parameter: a JSON map whose values are either sets
// ({"label":{"k=v":true}}, the CLI) or lists ({"label":["k=v"]}, docker-py).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::apiserver {

class Filters {
 public:
  // An empty string means no filters; malformed JSON is InvalidArgument.
  static absl::StatusOr<Filters> Parse(absl::string_view json);

  bool empty() const { return values_.empty(); }
  bool Has(const std::string& key) const { return values_.count(key) > 0; }
  const std::set<std::string>& Get(const std::string& key) const;

  // InvalidArgument "invalid filter 'k'" for a key not in accepted.
  absl::Status Validate(const std::set<std::string>& accepted) const;

  // True when the key is absent or any of its values satisfies match.
  template <typename Fn>
  bool AnyOrAbsent(const std::string& key, Fn match) const {
    auto it = values_.find(key);
    if (it == values_.end()) return true;
    for (const std::string& value : it->second) {
      if (match(value)) return true;
    }
    return false;
  }

  // Label filters: every "k" or "k=v" must hold for labels (Docker ANDs them).
  bool MatchLabels(const std::map<std::string, std::string>& labels) const;

  void Add(const std::string& key, const std::string& value) { values_[key].insert(value); }

 private:
  std::map<std::string, std::set<std::string>> values_;
};

// Shell-style pattern match (`*`, `?`, `[...]`), as Go's path.Match, where `*`
// does not cross '/'.
bool PathMatch(absl::string_view pattern, absl::string_view name);

}  // namespace berth::apiserver
