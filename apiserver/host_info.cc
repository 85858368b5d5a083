#include "apiserver/host_info.h"

#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/json.h"

namespace berth::apiserver {
namespace {

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string OsReleaseValue(const std::string& text, const std::string& key) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::ConsumePrefix(&line, key + "=")) {
      std::string value(line);
      if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
        value = value.substr(1, value.size() - 2);
      }
      return value;
    }
  }
  return "";
}

}  // namespace

std::string GoArch(const std::string& machine) {
  if (machine == "x86_64") return "amd64";
  if (machine == "aarch64") return "arm64";
  if (machine == "i686" || machine == "i386") return "386";
  if (absl::StartsWith(machine, "armv")) return "arm";
  return machine;
}

HostInfo ProbeHost(const std::string& root_dir) {
  HostInfo info;
  struct utsname uts;
  if (uname(&uts) == 0) {
    info.kernel_version = uts.release;
    info.architecture = uts.machine;
    info.hostname = uts.nodename;
  }
  std::string os_release = ReadSmallFile("/etc/os-release");
  if (os_release.empty()) os_release = ReadSmallFile("/usr/lib/os-release");
  info.operating_system = OsReleaseValue(os_release, "PRETTY_NAME");
  if (info.operating_system.empty()) info.operating_system = "Linux";
  info.os_version = OsReleaseValue(os_release, "VERSION_ID");
  std::string machine_id(absl::StripAsciiWhitespace(ReadSmallFile("/etc/machine-id")));
  info.id = machine_id.empty() ? info.hostname : machine_id;
  struct statfs fs;
  info.cgroup_version =
      statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC ? "2" : "1";
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  info.ncpu = cpus > 0 ? static_cast<int>(cpus) : 1;
  long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page_size > 0) info.mem_total = static_cast<int64_t>(pages) * page_size;
  info.root_dir = root_dir;
  return info;
}

std::string DefaultLoggingDriver(const std::string& config_file) {
  if (config_file.empty()) return "json-file";
  absl::StatusOr<std::string> text = berth::ReadFile(config_file);
  if (!text.ok()) return "json-file";
  absl::StatusOr<berth::Json> config = berth::ParseJson(*text);
  if (!config.ok() || !config->is_object()) return "json-file";
  auto driver = config->find("log-driver");
  if (driver == config->end() || !driver->is_string() || driver->get<std::string>().empty()) {
    return "json-file";
  }
  return driver->get<std::string>();
}

bool UsernsRemapEnabled(const std::string& config_file) {
  if (config_file.empty()) return false;
  absl::StatusOr<std::string> text = berth::ReadFile(config_file);
  if (!text.ok()) return false;
  absl::StatusOr<berth::Json> config = berth::ParseJson(*text);
  if (!config.ok() || !config->is_object()) return false;
  auto remap = config->find("userns-remap");
  return remap != config->end() && remap->is_string() && !remap->get<std::string>().empty();
}

}  // namespace berth::apiserver
