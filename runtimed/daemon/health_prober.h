// The production HealthProber: healthcheck probes run as execs.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "runtimed/daemon/exec_manager.h"
#include "runtimed/daemon/health.h"

namespace berth::runtimed {

// Probes through docker exec's machinery: the test runs as an exec of the
// container (its user, environment and working directory).
class ExecHealthProber : public HealthProber {
 public:
  explicit ExecHealthProber(ExecManager* execs) : execs_(execs) {}
  absl::StatusOr<ProbeOutcome> Probe(const std::string& container_id,
                                     const std::vector<std::string>& command,
                                     std::chrono::nanoseconds timeout) override;

 private:
  ExecManager* const execs_;
};

}  // namespace berth::runtimed
