#include "common/cgroup_driver.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "common/fs.h"

namespace berth {

absl::StatusOr<CgroupDriver> CgroupDriverFromConfig(const Json& config) {
  CgroupDriver driver = CgroupDriver::kCgroupfs;
  if (!config.is_object() || !config.contains("exec-opts")) return driver;
  const Json& opts = config["exec-opts"];
  if (!opts.is_array()) return absl::InvalidArgumentError("exec-opts must be a list of strings");
  for (const Json& opt : opts) {
    if (!opt.is_string()) return absl::InvalidArgumentError("exec-opts must be a list of strings");
    std::string text = opt.get<std::string>();
    absl::string_view key = text;
    // dockerd accepts the key in any case, with spaces around the '='.
    std::string::size_type eq = text.find('=');
    if (eq == std::string::npos) continue;
    std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(key.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(key.substr(eq + 1)));
    if (name != "native.cgroupdriver") continue;
    if (value == "systemd") {
      driver = CgroupDriver::kSystemd;
    } else if (value == "cgroupfs") {
      driver = CgroupDriver::kCgroupfs;
    } else {
      return absl::InvalidArgumentError("native.cgroupdriver option " + value + " not supported");
    }
  }
  return driver;
}

absl::StatusOr<CgroupDriver> CgroupDriverFromConfigFile(const std::string& config_file) {
  if (config_file.empty()) return CgroupDriver::kCgroupfs;
  absl::StatusOr<std::string> text = ReadFile(config_file);
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) return CgroupDriver::kCgroupfs;
    return text.status();
  }
  absl::StatusOr<Json> config = ParseJson(*text);
  if (!config.ok()) return config.status();
  return CgroupDriverFromConfig(*config);
}

std::string CgroupDriverName(CgroupDriver driver) {
  return driver == CgroupDriver::kSystemd ? "systemd" : "cgroupfs";
}

}  // namespace berth
