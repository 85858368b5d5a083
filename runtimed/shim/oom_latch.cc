#include "runtimed/shim/oom_latch.h"

#include <signal.h>
#include <sys/wait.h>

namespace berth::runtime {

void OomLatch::OnReadable(int64_t now_ms) {
  if (watch_ == nullptr) return;
  Saw(watch_->OnReadable(), now_ms);
}

void OomLatch::OnTimer(int64_t now_ms) {
  if (recheck_at_ms_ < 0 || now_ms < recheck_at_ms_) return;
  if (watch_ == nullptr) {
    recheck_at_ms_ = -1;
    return;
  }
  Saw(watch_->Check(), now_ms);
}

void OomLatch::Saw(OomWatch::Seen seen, int64_t now_ms) {
  switch (seen) {
    case OomWatch::Seen::kNothing:
      break;
    case OomWatch::Seen::kOom:
      oom_ = true;
      if (recheck_at_ms_ < 0) recheck_until_ms_ = now_ms + kRecheckForMs;
      recheck_at_ms_ = now_ms + kRecheckEveryMs;
      if (recheck_at_ms_ > recheck_until_ms_) recheck_at_ms_ = -1;
      break;
    case OomWatch::Seen::kKilled:
      oom_ = true;
      killed_ = true;
      recheck_at_ms_ = -1;
      break;
    case OomWatch::Seen::kGone:
      recheck_at_ms_ = -1;
      watch_.reset();
      break;
  }
}

bool OomLatch::ExitWasOomKill(int wait_status, bool counted_now) const {
  if (killed_ || counted_now) return true;
  return oom_ && WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL;
}

}  // namespace berth::runtime
