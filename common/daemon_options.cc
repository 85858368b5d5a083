#include "common/daemon_options.h"

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/log.h"

ABSL_FLAG(std::string, root, "/var/lib/berth", "Directory for persistent state");
ABSL_FLAG(std::string, exec_root, "/run/berth", "Directory for runtime state and sockets");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warn or error");
ABSL_FLAG(int, socket_gid, -1, "Group given access to the gRPC socket");
ABSL_FLAG(std::string, config_file, "", "daemon.json-style configuration file");

namespace berth {

DaemonOptions ParseDaemonFlags(int argc, char** argv, const std::string& component) {
  absl::SetProgramUsageMessage("berth " + component + " daemon");
  absl::ParseCommandLine(argc, argv);
  DaemonOptions options;
  options.component = component;
  options.root = absl::GetFlag(FLAGS_root);
  options.exec_root = absl::GetFlag(FLAGS_exec_root);
  options.log_level = absl::GetFlag(FLAGS_log_level);
  options.socket_gid = absl::GetFlag(FLAGS_socket_gid);
  options.config_file = absl::GetFlag(FLAGS_config_file);
  InitLogging(component, options.log_level);
  return options;
}

}  // namespace berth
