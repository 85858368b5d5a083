// Latches the OOM kills of the container's cgroup while it runs, so that its
// exit can report them after the cgroup is gone (see OomWatch).
#pragma once

#include <cstdint>
#include <memory>

#include "runtimed/runtime/cgroups.h"

namespace berth::runtime {

class OomLatch {
 public:
  // How long, and how often, to re-read the counter after an OOM whose kill
  // the kernel has not counted yet (it signals first, then kills).
  static constexpr int64_t kRecheckForMs = 2000;
  static constexpr int64_t kRecheckEveryMs = 5;

  OomLatch() = default;
  explicit OomLatch(std::unique_ptr<OomWatch> watch) : watch_(std::move(watch)) {}

  // The descriptor to wait on, -1 once there is nothing more to watch.
  int fd() const { return watch_ != nullptr ? watch_->fd() : -1; }
  // fd() is readable. When the cgroup is gone, the watch ends (fd() becomes
  // -1): the caller stops polling the old descriptor first.
  void OnReadable(int64_t now_ms);
  // Re-reads the counter once NextCheckMs() has come.
  void OnTimer(int64_t now_ms);
  // When to call OnTimer, -1 for never.
  int64_t NextCheckMs() const { return recheck_at_ms_; }
  void Stop() { watch_.reset(); }

  // The OOM killer killed a process of the cgroup.
  bool killed() const { return killed_; }
  // The cgroup ran out of memory (signalled), killed or not.
  bool oom() const { return oom_; }

  // Whether an init that ended with `wait_status` counts as OOM-killed, given
  // what was latched and `counted_now` (the cgroup's counter at exit, false
  // once the cgroup is gone). An OOM whose kill was not counted before the
  // cgroup went counts when the init died of SIGKILL: the OOM killer's signal.
  bool ExitWasOomKill(int wait_status, bool counted_now) const;

 private:
  void Saw(OomWatch::Seen seen, int64_t now_ms);

  std::unique_ptr<OomWatch> watch_;
  bool killed_ = false;
  bool oom_ = false;
  int64_t recheck_at_ms_ = -1;
  int64_t recheck_until_ms_ = -1;
};

}  // namespace berth::runtime
