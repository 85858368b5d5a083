#include "runtimed/daemon/user.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::runtimed {
namespace {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

bool ParseId(absl::string_view text, uint32_t* id) {
  return !text.empty() && absl::SimpleAtoi(text, id);
}

std::vector<PasswdEntry> ParsePasswd(const std::string& text) {
  std::vector<PasswdEntry> entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ':');
    if (fields.size() < 4) continue;
    PasswdEntry entry;
    entry.name = fields[0];
    if (!ParseId(fields[2], &entry.uid) || !ParseId(fields[3], &entry.gid)) continue;
    if (fields.size() > 5) entry.home = fields[5];
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::vector<GroupEntry> ParseGroup(const std::string& text) {
  std::vector<GroupEntry> entries;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields = absl::StrSplit(line, ':');
    if (fields.size() < 3) continue;
    GroupEntry entry;
    entry.name = fields[0];
    if (!ParseId(fields[2], &entry.gid)) continue;
    if (fields.size() > 3 && !fields[3].empty()) {
      entry.members = absl::StrSplit(fields[3], ',', absl::SkipEmpty());
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

// A group named or numbered `spec`.
std::optional<uint32_t> FindGroup(const std::vector<GroupEntry>& groups, const std::string& spec) {
  for (const GroupEntry& g : groups) {
    if (g.name == spec) return g.gid;
  }
  uint32_t gid = 0;
  if (ParseId(spec, &gid)) return gid;
  return std::nullopt;
}

}  // namespace

absl::StatusOr<ResolvedUser> ResolveUser(const std::string& user,
                                         const std::optional<std::string>& passwd,
                                         const std::optional<std::string>& group,
                                         const std::vector<std::string>& group_add) {
  std::string user_part = user;
  std::string group_part;
  bool has_group = false;
  if (size_t colon = user.find(':'); colon != std::string::npos) {
    user_part = user.substr(0, colon);
    group_part = user.substr(colon + 1);
    has_group = true;
  }
  const std::vector<PasswdEntry> users = ParsePasswd(passwd.value_or(""));
  const std::vector<GroupEntry> groups = ParseGroup(group.value_or(""));

  ResolvedUser result;
  // As in libcontainer: an empty user is root; a number is taken as is (the
  // passwd entry, when there is one, supplies gid and home); a name must exist.
  const PasswdEntry* matched = nullptr;
  uint32_t uid = 0;
  const bool numeric = user_part.empty() || ParseId(user_part, &uid);
  for (const PasswdEntry& entry : users) {
    if (numeric ? entry.uid == uid : entry.name == user_part) {
      matched = &entry;
      break;
    }
  }
  if (matched != nullptr) {
    result.uid = matched->uid;
    result.gid = matched->gid;
    if (!matched->home.empty()) result.home = matched->home;
  } else if (numeric) {
    result.uid = uid;
  } else {
    return absl::NotFoundError(
        absl::StrCat("unable to find user ", user_part, ": no matching entries in passwd file"));
  }

  if (has_group) {
    std::optional<uint32_t> gid = FindGroup(groups, group_part);
    if (!gid) {
      return absl::NotFoundError(
          absl::StrCat("unable to find group ", group_part, ": no matching entries in group file"));
    }
    result.gid = *gid;
  } else if (matched != nullptr) {
    for (const GroupEntry& g : groups) {
      if (std::find(g.members.begin(), g.members.end(), matched->name) != g.members.end()) {
        result.additional_gids.push_back(g.gid);
      }
    }
  }
  for (const std::string& extra : group_add) {
    std::optional<uint32_t> gid = FindGroup(groups, extra);
    if (!gid) {
      return absl::NotFoundError(
          absl::StrCat("unable to find group ", extra, ": no matching entries in group file"));
    }
    result.additional_gids.push_back(*gid);
  }
  return result;
}

}  // namespace berth::runtimed
