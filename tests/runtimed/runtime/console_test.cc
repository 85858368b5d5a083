// Passing descriptors over a unix socket (runc's console-socket protocol).
#include "runtimed/runtime/console.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

namespace berth::runtime {
namespace {

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() { REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0); }
  ~SocketPair() {
    for (int fd : fds) {
      if (fd >= 0) close(fd);
    }
  }
};

TEST_CASE("a descriptor and its name cross the socket; the copy is close-on-exec") {
  SocketPair pair;
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  REQUIRE(SendFd(pair.fds[0], "/dev/ptmx", pipe_fds[1]).ok());
  absl::StatusOr<ReceivedFd> received = ReceiveFd(pair.fds[1]);
  REQUIRE(received.ok());
  CHECK(received->name == "/dev/ptmx");
  CHECK(received->fd != pipe_fds[1]);
  close(pipe_fds[1]);
  CHECK((fcntl(received->fd, F_GETFD) & FD_CLOEXEC) != 0);
  // The received descriptor is the same pipe: what goes in comes out.
  REQUIRE(write(received->fd, "x", 1) == 1);
  close(received->fd);
  char byte = 0;
  REQUIRE(read(pipe_fds[0], &byte, 1) == 1);
  CHECK(byte == 'x');
  close(pipe_fds[0]);
}

TEST_CASE("receiving from a peer that sent no descriptor fails") {
  SocketPair pair;
  SECTION("the peer closed") {
    close(pair.fds[0]);
    pair.fds[0] = -1;
    absl::StatusOr<ReceivedFd> received = ReceiveFd(pair.fds[1]);
    CHECK(absl::IsFailedPrecondition(received.status()));
  }
  SECTION("plain bytes") {
    REQUIRE(write(pair.fds[0], "name", 4) == 4);
    absl::StatusOr<ReceivedFd> received = ReceiveFd(pair.fds[1]);
    CHECK(absl::IsInvalidArgument(received.status()));
  }
}

TEST_CASE("sending needs a name and a valid descriptor") {
  SocketPair pair;
  CHECK(absl::IsInvalidArgument(SendFd(pair.fds[0], "", 0)));
  CHECK_FALSE(SendFd(pair.fds[0], "x", -1).ok());
}

}  // namespace
}  // namespace berth::runtime
