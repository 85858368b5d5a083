#include "imaged/build/build_args.h"

#include <algorithm>

#include "absl/strings/str_join.h"

namespace berth::imaged::build {
namespace {

const std::set<std::string>& Builtins() {
  static const auto* builtins = new std::set<std::string>{
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
  };
  return *builtins;
}

}  // namespace

BuildArgs::BuildArgs(BuildArgValues from_options, std::map<std::string, std::string> platform_args)
    : from_options_(std::move(from_options)) {
  for (auto& [key, value] : platform_args) {
    meta_[key] = value;
    // Predefined: never reported as unused.
    referenced_.insert(key);
  }
}

bool BuildArgs::IsBuiltin(const std::string& key) { return Builtins().count(key) > 0; }

void BuildArgs::AddMetaArg(const std::string& key, const std::optional<std::string>& value) {
  meta_[key] = value;
}

void BuildArgs::AddArg(const std::string& key, const std::optional<std::string>& value) {
  allowed_[key] = value;
  referenced_.insert(key);
}

void BuildArgs::ResetAllowed() { allowed_.clear(); }

void BuildArgs::MergeReferencedArgs(const BuildArgs& other) {
  referenced_.insert(other.referenced_.begin(), other.referenced_.end());
}

bool BuildArgs::Lookup(const std::string& key,
                       const std::map<std::string, std::optional<std::string>>& source,
                       std::string* value) const {
  auto option = from_options_.find(key);
  if (option != from_options_.end() && option->second.has_value()) {
    *value = *option->second;
    return true;
  }
  auto declared = source.find(key);
  if (declared == source.end() || !declared->second.has_value()) {
    // "ARG X" without a default in a stage takes the global ARG's value.
    auto meta = meta_.find(key);
    if (meta != meta_.end() && meta->second.has_value()) {
      *value = *meta->second;
      return true;
    }
    return false;
  }
  *value = *declared->second;
  return true;
}

std::map<std::string, std::string> BuildArgs::AllFrom(
    const std::map<std::string, std::optional<std::string>>& source) const {
  std::map<std::string, std::string> result;
  std::set<std::string> keys;
  for (const auto& entry : source) keys.insert(entry.first);
  // Predefined args exist once given as options, declared or not.
  for (const std::string& builtin : Builtins()) keys.insert(builtin);
  for (const std::string& key : keys) {
    std::string value;
    if (source.count(key) == 0) {
      auto option = from_options_.find(key);
      if (option == from_options_.end() || !option->second.has_value()) continue;
    }
    if (Lookup(key, source, &value)) result[key] = value;
  }
  return result;
}

std::map<std::string, std::string> BuildArgs::GetAllAllowed() const { return AllFrom(allowed_); }

std::map<std::string, std::string> BuildArgs::GetAllMeta() const { return AllFrom(meta_); }

std::vector<std::string> BuildArgs::FilterAllowed(const std::vector<std::string>& env) const {
  std::set<std::string> set_by_env;
  for (const std::string& entry : env) set_by_env.insert(entry.substr(0, entry.find('=')));
  std::vector<std::string> result;
  for (const auto& [key, value] : GetAllAllowed()) {
    if (set_by_env.count(key) == 0) result.push_back(key + "=" + value);
  }
  return result;
}

bool BuildArgs::IsReferencedOrNotBuiltin(const std::string& key) const {
  return allowed_.count(key) > 0 || !IsBuiltin(key);
}

std::string BuildArgs::UnusedWarning() const {
  std::vector<std::string> unused;
  for (const auto& entry : from_options_) {
    if (referenced_.count(entry.first) == 0 && !IsBuiltin(entry.first)) {
      unused.push_back(entry.first);
    }
  }
  if (unused.empty()) return "";
  std::sort(unused.begin(), unused.end());
  return "[Warning] One or more build-args [" + absl::StrJoin(unused, " ") +
         "] were not consumed\n";
}

BuildArgValues ParseBuildArgFlags(const std::vector<std::string>& flags,
                                  const std::map<std::string, std::string>& environment) {
  BuildArgValues result;
  for (const std::string& flag : flags) {
    size_t eq = flag.find('=');
    if (eq != std::string::npos) {
      result[flag.substr(0, eq)] = flag.substr(eq + 1);
      continue;
    }
    auto value = environment.find(flag);
    if (value != environment.end()) {
      result[flag] = value->second;
    } else {
      result[flag] = std::nullopt;
    }
  }
  return result;
}

}  // namespace berth::imaged::build
