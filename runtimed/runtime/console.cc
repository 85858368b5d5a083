#include "runtimed/runtime/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "runtimed/runtime/process.h"

namespace berth::runtime {
namespace {

// runc's limit on the name, so that its receivers accept ours.
constexpr size_t kMaxNameSize = 4096;

absl::Status BindConsole(const std::string& slave) {
  int fd = open("/dev/console", O_RDWR | O_CREAT | O_NOCTTY | O_CLOEXEC, 0600);
  if (fd < 0) return LastErrnoStatus("create /dev/console");
  close(fd);
  if (mount(slave.c_str(), "/dev/console", "", MS_BIND, nullptr) != 0) {
    return LastErrnoStatus("bind " + slave + " onto /dev/console");
  }
  return absl::OkStatus();
}

// The slave's path: the master's index in this devpts instance.
absl::StatusOr<std::string> SlavePath(int master) {
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) return LastErrnoStatus("unlock the pty");
  unsigned int index = 0;
  if (ioctl(master, TIOCGPTN, &index) != 0) return LastErrnoStatus("get the pty number");
  return absl::StrCat("/dev/pts/", index);
}

}  // namespace

absl::Status SendFd(int socket, const std::string& name, int fd) {
  if (name.empty() || name.size() > kMaxNameSize) {
    return absl::InvalidArgumentError("invalid descriptor name \"" + name + "\"");
  }
  iovec iov = {const_cast<char*>(name.data()), name.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  while (true) {
    ssize_t n = sendmsg(socket, &message, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("send a descriptor");
    // The descriptor travels with the first byte; the rest is the name.
    if (static_cast<size_t>(n) == name.size()) return absl::OkStatus();
    return absl::InternalError("short send of a descriptor's name");
  }
}

absl::StatusOr<ReceivedFd> ReceiveFd(int socket) {
  std::string name(kMaxNameSize, '\0');
  iovec iov = {name.data(), name.size()};
  // Room for more than one so that an unexpected extra is seen and closed
  // rather than truncated into the kernel's void.
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr message = {};
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return LastErrnoStatus("receive a descriptor");
  std::vector<int> fds;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
      fds.push_back(fd);
    }
  }
  if (fds.size() != 1 || (message.msg_flags & MSG_CTRUNC) != 0) {
    for (int fd : fds) close(fd);
    if (n == 0 && fds.empty()) {
      return absl::FailedPreconditionError("the peer closed without sending a descriptor");
    }
    return absl::InvalidArgumentError(
        absl::StrCat("expected one descriptor, received ", fds.size()));
  }
  name.resize(static_cast<size_t>(n));
  return ReceivedFd{fds[0], std::move(name)};
}

absl::Status SetupConsole(int console_socket, bool mount_console) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return LastErrnoStatus("open /dev/ptmx");
  absl::StatusOr<std::string> slave_path = SlavePath(master);
  int slave = -1;
  if (slave_path.ok()) {
    slave = open(slave_path->c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) slave_path = LastErrnoStatus("open " + *slave_path);
  }
  absl::Status status = slave_path.status();
  if (status.ok()) status = Annotate(SendFd(console_socket, "/dev/ptmx", master), "console socket");
  // From here the container holds only the slave, as with runc.
  close(master);
  close(console_socket);
  if (status.ok() && mount_console) status = BindConsole(*slave_path);
  if (status.ok()) status = SetupStdio(ContainerIo{slave, slave, slave, /*terminal=*/true});
  if (slave >= 0) close(slave);
  return status;
}

}  // namespace berth::runtime
