#include "runtimed/runc/store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runc {

std::string ContainerDir(const std::string& root, const std::string& id) { return root + "/" + id; }

std::string StartSocketPath(const std::string& root, const std::string& id) {
  return ContainerDir(root, id) + "/start.sock";
}

absl::Status ValidateId(const std::string& id) {
  bool ok = !id.empty() && id != "." && id != ".." && id.size() <= 1024;
  for (char c : id) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.')) {
      ok = false;
    }
  }
  if (!ok) return absl::InvalidArgumentError("invalid container id format: " + id);
  return absl::OkStatus();
}

absl::StatusOr<ContainerRecord> LoadRecord(const std::string& root, const std::string& id) {
  RETURN_IF_ERROR(ValidateId(id));
  absl::StatusOr<std::string> text = ReadFile(ContainerDir(root, id) + "/state.json");
  if (!text.ok()) {
    if (absl::IsNotFound(text.status())) {
      return absl::NotFoundError("container " + id + " does not exist");
    }
    return text.status();
  }
  ASSIGN_OR_RETURN(Json json, ParseJson(*text));
  ContainerRecord record;
  record.id = json.value("id", id);
  record.pid = json.value("pid", 0);
  record.start_time = json.value("start_time", uint64_t{0});
  record.bundle = json.value("bundle", "");
  record.rootfs = json.value("rootfs", "");
  record.created = json.value("created", "");
  record.cgroups_path = json.value("cgroups_path", "");
  record.started = json.value("started", false);
  if (json.contains("annotations") && json["annotations"].is_object()) {
    for (auto& [key, value] : json["annotations"].items()) {
      if (value.is_string()) record.annotations[key] = value.get<std::string>();
    }
  }
  return record;
}

absl::Status SaveRecord(const std::string& root, const ContainerRecord& record) {
  Json json = {{"id", record.id},
               {"pid", record.pid},
               {"start_time", record.start_time},
               {"bundle", record.bundle},
               {"rootfs", record.rootfs},
               {"created", record.created},
               {"cgroups_path", record.cgroups_path},
               {"started", record.started},
               {"annotations", record.annotations}};
  // Renamed into place, not fsynced (as runc does): readers see the old
  // record or the new, and the record describes processes that a power loss
  // ends anyway (the root is a tmpfs under /run in practice). An fsync here
  // was the slowest step of `berth-runc run` on a busy disk.
  std::string path = ContainerDir(root, record.id) + "/state.json";
  std::string temp = path + ".tmp";
  std::string text = json.dump();
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return LastErrnoStatus("create " + temp);
  absl::Status status = WriteFull(fd, text.data(), text.size());
  if (close(fd) != 0 && status.ok()) status = LastErrnoStatus("close " + temp);
  if (status.ok() && rename(temp.c_str(), path.c_str()) != 0) {
    status = LastErrnoStatus("rename " + temp);
  }
  if (!status.ok()) unlink(temp.c_str());
  return status;
}

absl::StatusOr<std::vector<std::string>> ListIds(const std::string& root) {
  std::vector<std::string> ids;
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(root);
  if (!names.ok()) {
    // No root yet means no containers yet.
    if (absl::IsNotFound(names.status())) return ids;
    return names.status();
  }
  for (const std::string& name : *names) {
    if (PathExists(root + "/" + name + "/state.json")) ids.push_back(name);
  }
  return ids;
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  absl::StatusOr<std::string> stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  // The command name may hold spaces and parentheses: fields start after the last ')'.
  size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return 0;
  std::vector<std::string> fields = absl::StrSplit(stat->substr(paren + 2), ' ');
  // fields[0] is field 3 (state); start time is field 22.
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return 0;
  uint64_t start = 0;
  if (!absl::SimpleAtoi(fields[19], &start)) return 0;
  return start;
}

bool InitAlive(const ContainerRecord& record) {
  uint64_t start = ProcessStartTime(record.pid);
  return start != 0 && start == record.start_time;
}

std::string StatusOf(const ContainerRecord& record) {
  if (!InitAlive(record)) return "stopped";
  if (!record.started) return "created";
  absl::StatusOr<std::unique_ptr<runtime::CgroupManager>> cgroup =
      runtime::NewCgroupManager(record.cgroups_path);
  return cgroup.ok() && (*cgroup)->Frozen() ? "paused" : "running";
}

Json StateJson(const ContainerRecord& record) {
  std::string status = StatusOf(record);
  return Json{{"ociVersion", "1.0.2"},
              {"id", record.id},
              {"pid", status == "stopped" ? 0 : record.pid},
              {"status", status},
              {"bundle", record.bundle},
              {"rootfs", record.rootfs},
              {"created", record.created},
              {"owner", ""},
              {"annotations", record.annotations}};
}

std::string NowRfc3339() {
  auto now = std::chrono::system_clock::now();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  time_t seconds = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  gmtime_r(&seconds, &tm);
  char buffer[64];
  strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  char fraction[16];
  snprintf(fraction, sizeof(fraction), ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return std::string(buffer) + fraction;
}

}  // namespace berth::runc
