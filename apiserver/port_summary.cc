#include "apiserver/port_summary.h"

#include <string>

#include "absl/strings/numbers.h"

namespace berth::apiserver {

Json PortSummaries(const Json& ports) {
  Json list = Json::array();
  if (!ports.is_object()) return list;
  for (const auto& [key, bindings] : ports.items()) {
    const size_t slash = key.find('/');
    int private_port = 0;
    if (!absl::SimpleAtoi(key.substr(0, slash), &private_port)) continue;
    const std::string type = slash == std::string::npos ? "tcp" : key.substr(slash + 1);
    if (!bindings.is_array() || bindings.empty()) {
      list.push_back({{"PrivatePort", private_port}, {"Type", type}});
      continue;
    }
    for (const Json& binding : bindings) {
      int public_port = 0;
      if (!binding.is_object() || !binding.value("HostPort", Json("")).is_string() ||
          !absl::SimpleAtoi(binding.value("HostPort", std::string()), &public_port)) {
        continue;
      }
      list.push_back({{"IP", binding.value("HostIp", std::string())},
                      {"PrivatePort", private_port},
                      {"PublicPort", public_port},
                      {"Type", type}});
    }
  }
  return list;
}

}  // namespace berth::apiserver
