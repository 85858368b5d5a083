// Docker's restart policies (HostConfig.RestartPolicy) and their back-off.
#pragma once

#include <chrono>
#include <string>

#include "common/json.h"

namespace berth::runtimed {

struct RestartPolicy {
  // "no", "always", "unless-stopped" or "on-failure".
  std::string name = "no";
  // on-failure's limit; 0 means unlimited.
  int max_retries = 0;
};

RestartPolicy ParseRestartPolicy(const Json& host_config);

// Whether a container that exited with exit_code is started again, as moby's
// restartmanager decides: never after the user stopped or killed it.
bool ShouldRestart(const RestartPolicy& policy, int exit_code, bool stopped_by_user,
                   int restart_count);

// Whether a stopped container is started when runtimed starts: `always` ones,
// and `unless-stopped` ones the user did not stop.
bool RestartAtStartup(const RestartPolicy& policy, bool stopped_by_user);

// The delay before the next restart: `initial` at first and after a run of at
// least reset_after, else twice the previous one, at most a minute.
std::chrono::milliseconds NextRestartDelay(std::chrono::milliseconds previous,
                                           std::chrono::milliseconds ran_for,
                                           std::chrono::milliseconds initial,
                                           std::chrono::milliseconds reset_after);

}  // namespace berth::runtimed
