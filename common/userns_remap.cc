#include "common/userns_remap.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth {
namespace {

constexpr char kDefaultSetting[] = "default";
constexpr char kDefaultUser[] = "dockremap";
constexpr uint32_t kDefaultRangeSize = 65536;
constexpr uint32_t kFirstSubordinateId = 100000;

bool IsNumber(const std::string& s, uint32_t* out) { return absl::SimpleAtoi(s, out); }

struct Account {
  std::string name;
  uint32_t id = 0;
};

// The user named (or numbered) `spec`; NotFound when the host has none.
absl::StatusOr<Account> LookupAccount(const std::string& spec) {
  std::vector<char> buffer(16384);
  struct passwd entry, *found = nullptr;
  uint32_t uid = 0;
  int rc = IsNumber(spec, &uid)
               ? getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found)
               : getpwnam_r(spec.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    if (rc != 0) return ErrnoStatus(rc, "look up user " + spec);
    return absl::NotFoundError(IsNumber(spec, &uid)
                                   ? absl::StrCat("Uid ", spec, " has no entry in /etc/passwd")
                                   : absl::StrCat("user \"", spec, "\" not found"));
  }
  return Account{entry.pw_name, entry.pw_uid};
}

absl::StatusOr<Account> LookupGroupAccount(const std::string& spec) {
  std::vector<char> buffer(16384);
  struct group entry, *found = nullptr;
  uint32_t gid = 0;
  int rc = IsNumber(spec, &gid)
               ? getgrgid_r(gid, &entry, buffer.data(), buffer.size(), &found)
               : getgrnam_r(spec.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (found == nullptr) {
    if (rc != 0) return ErrnoStatus(rc, "look up group " + spec);
    return absl::NotFoundError(IsNumber(spec, &gid)
                                   ? absl::StrCat("Gid ", spec, " has no entry in /etc/group")
                                   : absl::StrCat("group \"", spec, "\" not found"));
  }
  return Account{entry.gr_name, entry.gr_gid};
}

absl::Status Run(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid < 0) return LastErrnoStatus("fork " + args[0]);
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, 0);
      dup2(null_fd, 1);
    }
    CloseDescriptorsFrom(3);
    std::vector<char*> argv;
    for (const std::string& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return LastErrnoStatus("wait for " + args[0]);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat(args[0], " failed (status ", status, ")"));
  }
  return absl::OkStatus();
}

std::string RangeArg(uint32_t start, uint32_t count) {
  return absl::StrCat(start, "-", start + count - 1);
}

// dockerd's AddNamespaceRangesUser: a system user without a shell, then a
// free range of 65536 subordinate uids and gids if it has none.
absl::Status EnsureDefaultUser(const SubidFiles& files) {
  UniqueFd lock(open("/run/berth-dockremap.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return LastErrnoStatus("open /run/berth-dockremap.lock");
  while (flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return LastErrnoStatus("lock /run/berth-dockremap.lock");
  }
  absl::StatusOr<Account> user = LookupAccount(kDefaultUser);
  if (absl::IsNotFound(user.status())) {
    RETURN_IF_ERROR(
        Annotate(Run({"/usr/sbin/useradd", "-r", "-U", "-M", "-s", "/bin/false", kDefaultUser}),
                 "Couldn't create the dockremap user"));
    user = LookupAccount(kDefaultUser);
  }
  if (!user.ok()) return user.status();
  std::string subuid = ReadFile(files.subuid).value_or("");
  std::string subgid = ReadFile(files.subgid).value_or("");
  const std::string id = std::to_string(user->id);
  if (SubordinateRanges(subuid, kDefaultUser, id).empty()) {
    RETURN_IF_ERROR(Annotate(
        Run({"/usr/sbin/usermod", "-v",
             RangeArg(NextFreeRange(subuid, kDefaultRangeSize), kDefaultRangeSize), kDefaultUser}),
        "Couldn't create subordinate ID ranges"));
  }
  if (SubordinateRanges(subgid, kDefaultUser, id).empty()) {
    RETURN_IF_ERROR(Annotate(
        Run({"/usr/sbin/usermod", "-w",
             RangeArg(NextFreeRange(subgid, kDefaultRangeSize), kDefaultRangeSize), kDefaultUser}),
        "Couldn't create subordinate ID ranges"));
  }
  return absl::OkStatus();
}

struct Entry {
  std::string owner;
  uint32_t start = 0;
  uint32_t count = 0;
};

std::vector<Entry> ParseSubidFile(const std::string& text) {
  std::vector<Entry> entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ':');
    Entry entry;
    if (fields.size() != 3 || fields[0].empty() || !absl::SimpleAtoi(fields[1], &entry.start) ||
        !absl::SimpleAtoi(fields[2], &entry.count) || entry.count == 0) {
      continue;
    }
    entry.owner = fields[0];
    entries.push_back(entry);
  }
  return entries;
}

}  // namespace

absl::StatusOr<std::string> UsernsRemapSetting(const Json& config) {
  if (!config.is_object()) return std::string();
  auto it = config.find("userns-remap");
  if (it == config.end() || it->is_null()) return std::string();
  if (!it->is_string()) return absl::InvalidArgumentError("userns-remap must be a string");
  return it->get<std::string>();
}

absl::StatusOr<RemapNames> ParseRemapSetting(const std::string& setting) {
  if (setting == kDefaultSetting) return RemapNames{kDefaultUser, kDefaultUser};
  std::vector<std::string> parts = absl::StrSplit(setting, ':');
  if (parts.size() > 2 || parts[0].empty()) {
    return absl::InvalidArgumentError("Invalid userns-remap setting \"" + setting +
                                      "\": expected \"default\", user, user:group or uid:gid");
  }
  RemapNames names{parts[0], parts.size() == 2 ? parts[1] : ""};
  return names;
}

std::vector<std::pair<uint32_t, uint32_t>> SubordinateRanges(const std::string& text,
                                                             const std::string& name,
                                                             const std::string& id) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  for (const Entry& entry : ParseSubidFile(text)) {
    if (entry.owner == name || (!id.empty() && entry.owner == id)) {
      ranges.emplace_back(entry.start, entry.count);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  return ranges;
}

std::vector<IdMapping> BuildIdMap(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
  std::vector<IdMapping> map;
  uint32_t next = 0;
  for (const auto& [start, count] : ranges) {
    map.push_back(IdMapping{next, start, count});
    next += count;
  }
  return map;
}

uint32_t NextFreeRange(const std::string& text, uint32_t count) {
  std::vector<Entry> entries = ParseSubidFile(text);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.start < b.start; });
  uint64_t start = kFirstSubordinateId;
  for (const Entry& entry : entries) {
    uint64_t end = static_cast<uint64_t>(entry.start) + entry.count;
    if (start + count <= entry.start) break;
    if (end > start) start = end;
  }
  return static_cast<uint32_t>(start);
}

absl::StatusOr<UsernsRemap> ResolveUsernsRemap(const std::string& setting,
                                               const SubidFiles& files) {
  ASSIGN_OR_RETURN(RemapNames names, ParseRemapSetting(setting));
  if (setting == kDefaultSetting) RETURN_IF_ERROR(EnsureDefaultUser(files));
  ASSIGN_OR_RETURN(Account user, LookupAccount(names.user));
  if (user.id == 0) {
    return absl::InvalidArgumentError(
        "Can't create ID mappings for user \"" + user.name +
        "\": remapping to root would give containers the host's root");
  }
  // Without a group named, the user's own group if there is one; subgid
  // lines are then matched by the user's name.
  Account group{user.name, 0};
  std::string group_id;
  if (!names.group.empty()) {
    ASSIGN_OR_RETURN(group, LookupGroupAccount(names.group));
    group_id = std::to_string(group.id);
  } else if (auto own = LookupGroupAccount(user.name); own.ok()) {
    group = *own;
    group_id = std::to_string(group.id);
  }
  // A missing file has no ranges, which the errors below say.
  std::string subuid = ReadFile(files.subuid).value_or("");
  std::string subgid = ReadFile(files.subgid).value_or("");
  UsernsRemap remap;
  remap.user = user.name;
  remap.group = group.name;
  remap.uids = BuildIdMap(SubordinateRanges(subuid, user.name, std::to_string(user.id)));
  if (remap.uids.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Couldn't create ID mappings: no subuid ranges found for user \"", user.name, "\""));
  }
  remap.gids = BuildIdMap(SubordinateRanges(subgid, group.name, group_id));
  if (remap.gids.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "Couldn't create ID mappings: no subgid ranges found for group \"", group.name, "\""));
  }
  return remap;
}

absl::StatusOr<std::optional<UsernsRemap>> LoadUsernsRemap(const std::string& config_file) {
  if (config_file.empty()) return std::nullopt;
  absl::StatusOr<std::string> text = ReadFile(config_file);
  if (!text.ok()) return std::nullopt;
  ASSIGN_OR_RETURN(Json config, ParseJson(*text));
  ASSIGN_OR_RETURN(std::string setting, UsernsRemapSetting(config));
  if (setting.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(UsernsRemap remap, ResolveUsernsRemap(setting));
  return remap;
}

uint32_t ToContainerId(const std::vector<IdMapping>& map, uint32_t host_id) {
  for (const IdMapping& m : map) {
    if (host_id >= m.host_id && host_id - m.host_id < m.size) {
      return m.container_id + (host_id - m.host_id);
    }
  }
  return host_id;
}

uint32_t ToHostId(const std::vector<IdMapping>& map, uint32_t container_id) {
  for (const IdMapping& m : map) {
    if (container_id >= m.container_id && container_id - m.container_id < m.size) {
      return m.host_id + (container_id - m.container_id);
    }
  }
  return container_id;
}

}  // namespace berth
