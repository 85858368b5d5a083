#include "netd/sandbox/netns.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "common/mountinfo.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::netd {

absl::Status BringLoopbackUp() {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) return LastErrnoStatus("socket");
  struct ifreq request;
  memset(&request, 0, sizeof(request));
  strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return LastErrnoStatus("get flags of lo");
  request.ifr_flags |= IFF_UP;
  if (ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) return LastErrnoStatus("bring lo up");
  return absl::OkStatus();
}

absl::Status CreatePinnedNetns(const std::string& path) {
  UniqueFd file(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
  if (!file.valid()) return LastErrnoStatus("create " + path);
  file.Reset();

  absl::Status status;
  // unshare(CLONE_NEWNET) moves only the calling thread; this thread ends
  // right after pinning, so no other work ever runs in the new namespace.
  std::thread worker([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      status = LastErrnoStatus("unshare(CLONE_NEWNET)");
      return;
    }
    status = BringLoopbackUp();
    if (!status.ok()) return;
    if (mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      status = LastErrnoStatus("pin network namespace on " + path);
    }
  });
  worker.join();
  if (!status.ok()) unlink(path.c_str());
  return status;
}

absl::Status RemovePinnedNetns(const std::string& path) {
  // Several pins on one file are possible after a crash mid-create; peel all.
  for (int attempt = 0; attempt < 16; ++attempt) {
    if (umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      if (errno == EINVAL || errno == ENOENT) break;
      return LastErrnoStatus("unmount " + path);
    }
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return LastErrnoStatus("remove " + path);
  return absl::OkStatus();
}

absl::Status MakePrivateMountDir(const std::string& dir) {
  ASSIGN_OR_RETURN(bool mounted, IsMountPoint(dir));
  if (!mounted && mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return LastErrnoStatus("bind mount " + dir);
  }
  if (mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) != 0) {
    return LastErrnoStatus("make " + dir + " private");
  }
  return absl::OkStatus();
}

}  // namespace berth::netd
