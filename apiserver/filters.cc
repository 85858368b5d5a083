#include "apiserver/filters.h"

#include <fnmatch.h>

#include "absl/strings/str_cat.h"
#include "common/json.h"

namespace berth::apiserver {

absl::StatusOr<Filters> Filters::Parse(absl::string_view text) {
  Filters filters;
  if (text.empty()) return filters;
  Json parsed = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid filter: expected a JSON object, got '", text, "'"));
  }
  for (auto& [key, value] : parsed.items()) {
    std::set<std::string>& set = filters.values_[key];
    if (value.is_object()) {
      for (auto& [item, enabled] : value.items()) {
        if (!enabled.is_boolean()) {
          return absl::InvalidArgumentError(
              absl::StrCat("invalid filter: value of '", key, "=", item, "' must be a boolean"));
        }
        if (enabled.get<bool>()) set.insert(item);
      }
    } else if (value.is_array()) {
      for (const Json& item : value) {
        if (!item.is_string()) {
          return absl::InvalidArgumentError(
              absl::StrCat("invalid filter: values of '", key, "' must be strings"));
        }
        set.insert(item.get<std::string>());
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid filter: '", key, "' must map to an object or a list"));
    }
    if (set.empty()) filters.values_.erase(key);
  }
  return filters;
}

const std::set<std::string>& Filters::Get(const std::string& key) const {
  static const std::set<std::string>* const kEmpty = new std::set<std::string>();
  auto it = values_.find(key);
  return it == values_.end() ? *kEmpty : it->second;
}

absl::Status Filters::Validate(const std::set<std::string>& accepted) const {
  for (const auto& [key, unused] : values_) {
    if (accepted.count(key) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "'"));
    }
  }
  return absl::OkStatus();
}

bool Filters::MatchLabels(const std::map<std::string, std::string>& labels) const {
  for (const std::string& want : Get("label")) {
    size_t eq = want.find('=');
    if (eq == std::string::npos) {
      if (labels.count(want) == 0) return false;
    } else {
      auto it = labels.find(want.substr(0, eq));
      if (it == labels.end() || it->second != want.substr(eq + 1)) return false;
    }
  }
  return true;
}

bool PathMatch(absl::string_view pattern, absl::string_view name) {
  return fnmatch(std::string(pattern).c_str(), std::string(name).c_str(), FNM_PATHNAME) == 0;
}

}  // namespace berth::apiserver
