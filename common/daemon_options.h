// What every daemon is told on its command line, and where its files live.
//
// On-disk layout (see docs/layout.md):
//   <root>/<component>/            state that survives reboots (db, blobs, layers)
//   <exec_root>/<component>/       runtime state (bundles, netns files, shim sockets)
//   <exec_root>/grpc/<component>.sock   each daemon's gRPC socket
//   <exec_root>/docker.sock        the Docker API (apiserver)
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth {

inline constexpr char kBerthVersion[] = "0.1.0";

struct DaemonOptions {
  std::string component;
  std::string root = "/var/lib/berth";
  std::string exec_root = "/run/berth";
  std::string log_level = "info";
  // Group that may connect to this daemon's gRPC socket (-1: leave as is).
  int socket_gid = -1;
  // Path of Docker's daemon.json-style configuration; empty for none.
  std::string config_file;

  std::string StateDir() const { return root + "/" + component; }
  std::string RunDir() const { return exec_root + "/" + component; }
  std::string GrpcSocket() const { return GrpcSocketOf(component); }
  std::string GrpcSocketOf(const std::string& other) const {
    return exec_root + "/grpc/" + other + ".sock";
  }
  std::string DockerSocket() const { return exec_root + "/docker.sock"; }
};

// Parses the flags every daemon takes (--root, --exec-root, --log-level,
// --socket-gid, --config-file) plus any ABSL_FLAGs the binary defines, and
// initialises logging. Exits with a usage message on bad flags.
DaemonOptions ParseDaemonFlags(int argc, char** argv, const std::string& component);

}  // namespace berth
