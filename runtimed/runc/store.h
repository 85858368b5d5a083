// What berth-runc knows about a container, in <root>/<id>/state.json
// (written atomically), and the live status derived from it and /proc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runc {

struct ContainerRecord {
  std::string id;
  pid_t pid = 0;
  // /proc/<pid>/stat's start time: tells the init from a recycled pid.
  uint64_t start_time = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339, UTC
  std::string cgroups_path;
  bool started = false;
  std::map<std::string, std::string> annotations;
};

std::string ContainerDir(const std::string& root, const std::string& id);
// The unix socket the created container's holder waits on until `start`.
std::string StartSocketPath(const std::string& root, const std::string& id);

// runc's rule: letters, digits, '_', '+', '-', '.'; not "." or "..".
absl::Status ValidateId(const std::string& id);

// NotFound `container does not exist` (runc's words) when there is none.
absl::StatusOr<ContainerRecord> LoadRecord(const std::string& root, const std::string& id);
absl::Status SaveRecord(const std::string& root, const ContainerRecord& record);
absl::StatusOr<std::vector<std::string>> ListIds(const std::string& root);

// 0 when the process is gone (or a zombie).
uint64_t ProcessStartTime(pid_t pid);
bool InitAlive(const ContainerRecord& record);

// "created", "running" or "stopped".
std::string StatusOf(const ContainerRecord& record);

// runc's `state` output.
Json StateJson(const ContainerRecord& record);

std::string NowRfc3339();

}  // namespace berth::runc
