// berth-shim --bootstrap=<bundle>/bootstrap.pb --ready-fd=<n>
//
// Started by LaunchShim (shim_client.cc), already detached from runtimed.
// Reports "created" (its pid) or the creation error as one ShimFrame on the
// ready descriptor, then serves the container until it has exited.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "common/fs.h"
#include "common/status.h"
#include "runtimed/shim/memory.h"
#include "runtimed/shim/shim.h"
#include "runtimed/shim/shim_client.h"

namespace {

void Report(int fd, const absl::Status& status) {
  if (fd < 0) return;
  berth::shim::v1::ShimFrame frame;
  auto* reply = frame.mutable_reply();
  if (status.ok()) {
    reply->set_pid(getpid());
    reply->set_status("created");
  } else {
    reply->set_error(std::string(status.message()));
    reply->set_code(static_cast<int>(status.code()));
  }
  berth::runtime::WriteFrame(fd, frame).IgnoreError();
  close(fd);
}

absl::StatusOr<berth::shim::v1::Bootstrap> LoadBootstrap(const std::string& path) {
  absl::StatusOr<std::string> content = berth::ReadFile(path);
  if (!content.ok()) return content.status();
  berth::shim::v1::Bootstrap bootstrap;
  if (!bootstrap.ParseFromString(*content) || bootstrap.bundle().empty()) {
    return absl::InvalidArgumentError("invalid shim bootstrap " + path);
  }
  return bootstrap;
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap_path;
  int ready_fd = -1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--bootstrap=", 0) == 0) {
      bootstrap_path = arg.substr(strlen("--bootstrap="));
    } else if (arg.rfind("--ready-fd=", 0) == 0) {
      ready_fd = atoi(arg.c_str() + strlen("--ready-fd="));
    } else {
      fprintf(stderr, "usage: %s --bootstrap=<path> [--ready-fd=<n>]\n", argv[0]);
      return 2;
    }
  }
  if (ready_fd >= 0) fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
  absl::StatusOr<berth::shim::v1::Bootstrap> bootstrap = LoadBootstrap(bootstrap_path);
  if (!bootstrap.ok()) {
    Report(ready_fd, bootstrap.status());
    return 1;
  }
  const std::string& bundle = bootstrap->bundle();
  int log = open((bundle + "/shim.log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log >= 0) {
    dup2(log, 2);
    close(log);
  }
  if (chdir(bundle.c_str()) != 0) {
    Report(ready_fd, berth::LastErrnoStatus("chdir " + bundle));
    return 1;
  }
  // Orphans of the container are reparented to the shim, which reaps them.
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);

  berth::runtime::Shim shim(*std::move(bootstrap));
  absl::Status status = shim.Create();
  Report(ready_fd, status);
  if (!status.ok()) {
    fprintf(stderr, "create failed: %s\n", status.ToString().c_str());
    return 1;
  }
  berth::runtime::ReleaseUnusedMemory();
  shim.Run();
  return 0;
}
