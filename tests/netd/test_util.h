// Helpers for the netd tests: inspecting namespaces from a thread of our own.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "common/unique_fd.h"

namespace berth::testing {

inline std::string MakeTempDir() {
  std::string dir = "/tmp/ntXXXXXX";
  if (mkdtemp(dir.data()) == nullptr) abort();
  return dir;
}

// Brings "lo" up in the calling thread's network namespace.
inline bool LoopbackUp() {
  UniqueFd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  struct ifreq request = {};
  strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) return false;
  request.ifr_flags |= IFF_UP;
  return ioctl(sock.get(), SIOCSIFFLAGS, &request) == 0;
}

// Moves the whole test process (once) into a network namespace of its own
// with "lo" up, so that what it binds is invisible to the host.
inline void EnterPrivateNetns() {
  static const bool entered = unshare(CLONE_NEWNET) == 0 && LoopbackUp();
  REQUIRE(entered);
}

inline sockaddr_in Ipv4SocketAddress(const char* ip, int port) {
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &address.sin_addr);
  return address;
}

inline ino_t Inode(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Flags of "lo" as seen from inside the namespace at netns_path (-1 on error).
inline int LoopbackFlagsIn(const std::string& netns_path) {
  int flags = -1;
  std::thread probe([&] {
    int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) return;
    int joined = setns(ns, CLONE_NEWNET);
    close(ns);
    if (joined != 0) return;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq request;
    memset(&request, 0, sizeof(request));
    strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &request) == 0) flags = request.ifr_flags;
    close(sock);
  });
  probe.join();
  return flags;
}

inline bool MountedUnder(const std::string& dir) {
  auto mounts = ReadMountInfo();
  if (!mounts.ok()) abort();
  for (const MountInfo& mount : *mounts) {
    if (mount.mount_point.rfind(dir + "/", 0) == 0) return true;
  }
  return false;
}

// Removes a test's directory including the private mount netd made of its
// netns directory.
inline void CleanUp(const std::string& dir) {
  umount2((dir + "/run/netns").c_str(), MNT_DETACH);
  RemoveAll(dir).IgnoreError();
}

}  // namespace berth::testing
