#include "runtimed/daemon/health_prober.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/json.h"

namespace berth::runtimed {

absl::StatusOr<ProbeOutcome> ExecHealthProber::Probe(const std::string& container_id,
                                                     const std::vector<std::string>& command,
                                                     std::chrono::nanoseconds timeout) {
  Json exec_config = {{"Cmd", command}, {"AttachStdout", true}, {"AttachStderr", true}};
  absl::StatusOr<std::string> id = execs_->Create(container_id, exec_config.dump());
  if (!id.ok()) return id.status();
  absl::StatusOr<std::shared_ptr<ExecSession>> session = execs_->Start(*id, /*detach=*/false);
  if (!session.ok()) return session.status();
  // Reading blocks until the output ends; past the timeout the session is
  // cancelled, which ends the read.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false, timed_out = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, timeout, [&] { return done; })) {
      timed_out = true;
      (*session)->Cancel();
    }
  });
  ProbeOutcome outcome;
  while (std::optional<shim::v1::Output> chunk = (*session)->Read()) {
    if (outcome.output.size() < kHealthOutputLimit) outcome.output += chunk->data();
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  if (timed_out) return absl::DeadlineExceededError("health check timed out");
  absl::StatusOr<runtime::v1::ExecInfo> info = execs_->Inspect(*id);
  if (!info.ok()) return info.status();
  outcome.exit_code = info->has_exit_code() ? info->exit_code() : -1;
  return outcome;
}

}  // namespace berth::runtimed
