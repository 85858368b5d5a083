#include "common/netns_thread.h"

#include <fcntl.h>
#include <sched.h>

#include <thread>

#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {

absl::Status RunInNetworkNamespace(const std::string& netns_path,
                                   const std::function<absl::Status()>& fn) {
  absl::Status result;
  std::thread worker([&] {
    UniqueFd ns(open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) {
      result = LastErrnoStatus("open " + netns_path);
      return;
    }
    if (setns(ns.get(), CLONE_NEWNET) != 0) {
      result = LastErrnoStatus("join " + netns_path);
      return;
    }
    result = fn();
  });
  worker.join();
  return result;
}

}  // namespace berth
