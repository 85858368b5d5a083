#include "common/daemon_options.h"

#include <catch2/catch.hpp>

namespace berth {

// absl parses a process's command line once, so one test covers both spellings.
TEST_CASE("daemon flags accept dashes and underscores", "[daemon_options]") {
  const char* args[] = {"berth-testd", "--exec-root=/tmp/x/run", "--root",
                        "/tmp/x/root", "--log_level=warn",       "--socket-gid=42"};
  DaemonOptions options = ParseDaemonFlags(6, const_cast<char**>(args), "testd");
  CHECK(options.exec_root == "/tmp/x/run");
  CHECK(options.root == "/tmp/x/root");
  CHECK(options.log_level == "warn");
  CHECK(options.socket_gid == 42);
  CHECK(options.StateDir() == "/tmp/x/root/testd");
  CHECK(options.GrpcSocketOf("stored") == "/tmp/x/run/grpc/stored.sock");
}

}  // namespace berth
