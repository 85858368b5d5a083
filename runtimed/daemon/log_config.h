// Which log driver a container gets and with which options: HostConfig's
// LogConfig merged with daemon.json's `log-driver` / `log-opts`, and checked
// as Moby checks them (its words for unknown drivers and options).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runtimed {

struct LogDefaults {
  std::string driver = "json-file";
  // Option name to string value.
  Json options = Json::object();
};

// daemon.json's log-driver and log-opts (absent: json-file, no options).
absl::StatusOr<LogDefaults> ParseLogDefaults(const Json& daemon_config);

// Fills in an empty LogConfig.Type with the default driver, and when the
// container uses the default driver, the default options it does not set;
// then refuses unknown drivers and options.
absl::Status ResolveLogConfig(const LogDefaults& defaults, Json* log_config);

// Whether the rotated files of a resolved LogConfig are gzipped.
bool LogCompressed(const Json& log_config);

// Where the shim writes the container's log for `driver` ("" for none).
std::string LogFilePath(const std::string& driver, const std::string& container_dir,
                        const std::string& id);

}  // namespace berth::runtimed
