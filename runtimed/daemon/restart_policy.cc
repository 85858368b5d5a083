#include "runtimed/daemon/restart_policy.h"

#include <algorithm>

namespace berth::runtimed {

RestartPolicy ParseRestartPolicy(const Json& host_config) {
  RestartPolicy policy;
  if (!host_config.is_object()) return policy;
  auto it = host_config.find("RestartPolicy");
  if (it == host_config.end() || !it->is_object()) return policy;
  if (auto name = it->find("Name");
      name != it->end() && name->is_string() && !name->get<std::string>().empty()) {
    policy.name = name->get<std::string>();
  }
  if (auto max = it->find("MaximumRetryCount"); max != it->end() && max->is_number_integer()) {
    policy.max_retries = std::max(0, max->get<int>());
  }
  return policy;
}

bool ShouldRestart(const RestartPolicy& policy, int exit_code, bool stopped_by_user,
                   int restart_count) {
  if (stopped_by_user) return false;
  if (policy.name == "always" || policy.name == "unless-stopped") return true;
  if (policy.name == "on-failure") {
    return exit_code != 0 && (policy.max_retries == 0 || restart_count < policy.max_retries);
  }
  return false;
}

bool RestartAtStartup(const RestartPolicy& policy, bool stopped_by_user) {
  return policy.name == "always" || (policy.name == "unless-stopped" && !stopped_by_user);
}

std::chrono::milliseconds NextRestartDelay(std::chrono::milliseconds previous,
                                           std::chrono::milliseconds ran_for,
                                           std::chrono::milliseconds initial,
                                           std::chrono::milliseconds reset_after) {
  if (previous.count() == 0 || ran_for >= reset_after) return initial;
  return std::min(previous * 2, std::chrono::milliseconds(60000));
}

}  // namespace berth::runtimed
