#include "common/id_map.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace berth {

std::string FormatIdMap(const std::vector<IdMapping>& map) {
  std::string text;
  for (const IdMapping& m : map) {
    absl::StrAppend(&text, m.container_id, " ", m.host_id, " ", m.size, "\n");
  }
  return text;
}

absl::StatusOr<UniqueFd> OpenMappedUserNamespace(const std::vector<IdMapping>& uids,
                                                 const std::vector<IdMapping>& gids) {
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  UniqueFd gate_read(gate[0]), gate_write(gate[1]);
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    char byte;
    gate_write.Reset();
    while (read(gate_read.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    _exit(0);
  }
  if (pid < 0) return LastErrnoStatus("clone a user namespace");
  // The kernel takes a map in a single write(2) only.
  auto write_map = [&](const char* name, const std::string& text) -> absl::Status {
    std::string path = absl::StrCat("/proc/", pid, "/", name);
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return LastErrnoStatus("open " + path);
    if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
      return LastErrnoStatus("write " + path);
    }
    return absl::OkStatus();
  };
  absl::Status status = write_map("uid_map", FormatIdMap(uids));
  if (status.ok()) status = write_map("gid_map", FormatIdMap(gids));
  UniqueFd ns;
  if (status.ok()) {
    std::string path = absl::StrCat("/proc/", pid, "/ns/user");
    ns = UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid()) status = LastErrnoStatus("open " + path);
  }
  gate_write.Reset();
  while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!status.ok()) return status;
  return ns;
}

}  // namespace berth
