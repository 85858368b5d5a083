#include "runtimed/daemon/log_config.h"

#include <set>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "runtimed/daemon/container_config.h"

namespace berth::runtimed {
namespace {

// What Moby's json-file and local drivers accept, plus the options every
// driver takes (mode, max-buffer-size), which Moby filters out first.
bool KnownOption(const std::string& driver, const std::string& key) {
  static const std::set<std::string> kCommon = {"mode", "max-buffer-size"};
  static const std::set<std::string> kFileDrivers = {
      "max-file", "max-size", "compress", "labels", "labels-regex", "env", "env-regex", "tag"};
  if (kCommon.count(key) != 0) return true;
  return driver != "none" && kFileDrivers.count(key) != 0;
}

// Go's strconv.ParseBool, which Moby reads `compress` with.
absl::StatusOr<bool> ParseGoBool(const std::string& text) {
  static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(text) != 0) return true;
  if (kFalse.count(text) != 0) return false;
  return absl::InvalidArgumentError("strconv.ParseBool: parsing \"" + text + "\": invalid syntax");
}

absl::Status CheckLogConfig(const std::string& driver, const Json& options) {
  if (driver != "json-file" && driver != "local" && driver != "none") {
    return absl::InvalidArgumentError("logger: no log driver named '" + driver + "' is registered");
  }
  if (!options.is_object()) return absl::OkStatus();
  for (const auto& [key, value] : options.items()) {
    if (KnownOption(driver, key)) continue;
    if (driver == "json-file") {
      return absl::InvalidArgumentError("unknown log opt '" + key + "' for json-file log driver");
    }
    return absl::InvalidArgumentError("unknown log opt '" + key + "' for log driver " + driver);
  }
  if (std::string mode = JsonString(options, "mode");
      !mode.empty() && mode != "blocking" && mode != "non-blocking") {
    return absl::InvalidArgumentError("logger: logging mode not supported: " + mode);
  }
  if (std::string size = JsonString(options, "max-size"); !size.empty()) {
    if (!ParseByteSize(size).ok()) {
      return absl::InvalidArgumentError("invalid value for max-size: " + size);
    }
  }
  int max_files = 1;
  if (std::string files = JsonString(options, "max-file"); !files.empty()) {
    if (!absl::SimpleAtoi(files, &max_files) || max_files < 1) {
      return absl::InvalidArgumentError("invalid value for max-file: " + files);
    }
  }
  if (std::string compress = JsonString(options, "compress"); !compress.empty()) {
    ASSIGN_OR_RETURN(bool on, ParseGoBool(compress));
    // json-file does not rotate unless told; local always does.
    if (on && driver == "json-file" && (max_files < 2 || JsonString(options, "max-size").empty())) {
      return absl::InvalidArgumentError(
          "compress cannot be true when max-file is less than 2 or max-size is not set");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<LogDefaults> ParseLogDefaults(const Json& daemon_config) {
  LogDefaults defaults;
  if (!daemon_config.is_object()) return defaults;
  if (auto it = daemon_config.find("log-driver"); it != daemon_config.end()) {
    if (!it->is_string()) return absl::InvalidArgumentError("log-driver must be a string");
    if (!it->get<std::string>().empty()) defaults.driver = it->get<std::string>();
  }
  if (auto it = daemon_config.find("log-opts"); it != daemon_config.end() && !it->is_null()) {
    if (!it->is_object()) return absl::InvalidArgumentError("log-opts must be an object");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) {
        return absl::InvalidArgumentError("log-opts." + key + " must be a string");
      }
    }
    defaults.options = *it;
  }
  RETURN_IF_ERROR(CheckLogConfig(defaults.driver, defaults.options));
  return defaults;
}

absl::Status ResolveLogConfig(const LogDefaults& defaults, Json* log_config) {
  if (!log_config->is_object()) *log_config = Json::object();
  Json& config = *log_config;
  if (JsonString(config, "Type").empty()) config["Type"] = defaults.driver;
  if (!config.contains("Config") || !config["Config"].is_object()) {
    config["Config"] = Json::object();
  }
  const std::string driver = JsonString(config, "Type");
  if (driver == defaults.driver) {
    for (const auto& [key, value] : defaults.options.items()) {
      if (!config["Config"].contains(key)) config["Config"][key] = value;
    }
  }
  return CheckLogConfig(driver, config["Config"]);
}

bool LogCompressed(const Json& log_config) {
  const std::string driver = JsonString(log_config, "Type");
  if (driver != "json-file" && driver != "local") return false;
  std::string compress;
  if (auto it = log_config.find("Config"); it != log_config.end()) {
    compress = JsonString(*it, "compress");
  }
  // Docker's local driver compresses unless told not to; json-file only when told.
  if (compress.empty()) return driver == "local";
  absl::StatusOr<bool> on = ParseGoBool(compress);
  return on.ok() && *on;
}

std::string LogFilePath(const std::string& driver, const std::string& container_dir,
                        const std::string& id) {
  if (driver == "none") return "";
  // Where Docker keeps them, so that the layout reads the same.
  if (driver == "local") return container_dir + "/local-logs/container.log";
  return container_dir + "/" + id + "-json.log";
}

}  // namespace berth::runtimed
