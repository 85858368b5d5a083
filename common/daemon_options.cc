#include "common/daemon_options.h"

#include <string>
#include <vector>

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

namespace {

// absl flags are spelled with underscores; berth's command lines use dashes
// (--exec-root), as Docker's do. Accept both by rewriting the flag names.
std::vector<char*> NormaliseFlagNames(int argc, char** argv, std::vector<std::string>& storage) {
  storage.assign(argv, argv + argc);
  for (size_t i = 1; i < storage.size(); ++i) {
    std::string& arg = storage[i];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) continue;
    size_t end = arg.find('=');
    if (end == std::string::npos) end = arg.size();
    for (size_t j = 2; j < end; ++j) {
      if (arg[j] == '-') arg[j] = '_';
    }
  }
  std::vector<char*> normalised;
  normalised.reserve(storage.size() + 1);
  for (std::string& arg : storage) normalised.push_back(arg.data());
  normalised.push_back(nullptr);
  return normalised;
}

}  // namespace

DaemonOptions ParseDaemonFlags(int argc, char** argv, const std::string& component) {
  absl::SetProgramUsageMessage("berth " + component + " daemon");
  // Kept alive for the process: absl may refer to argv[0] later.
  static std::vector<std::string>* storage = new std::vector<std::string>();
  std::vector<char*> normalised = NormaliseFlagNames(argc, argv, *storage);
  absl::ParseCommandLine(argc, normalised.data());
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
