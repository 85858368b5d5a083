#include "stored/archive/container_user.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/archive/resolve.h"

namespace berth::containerfs {
namespace {

// The fields of the first line whose field `key` is `value` (name or id).
bool FindEntry(const std::string& text, size_t key, const std::string& value,
               std::vector<std::string>* fields) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    std::vector<std::string> parts = absl::StrSplit(line, ':');
    if (parts.size() > 2 && parts[key] == value) {
      *fields = std::move(parts);
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::string> ReadInRoot(int root_fd, const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd, path, O_RDONLY | O_CLOEXEC, true);
  if (!fd.ok()) return std::string();
  std::string text;
  char buf[8192];
  while (true) {
    ssize_t n = read(fd->get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read " + path);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

absl::StatusOr<Owner> ResolveOwner(const std::string& user, const std::string& passwd,
                                   const std::string& group) {
  std::vector<std::string> spec = absl::StrSplit(user, absl::MaxSplits(':', 1));
  const std::string& user_part = spec[0];
  Owner owner;
  std::vector<std::string> fields;
  uint32_t number = 0;
  if (absl::SimpleAtoi(user_part, &number)) {
    owner.uid = number;
    if (FindEntry(passwd, 2, user_part, &fields) && fields.size() > 3) {
      absl::SimpleAtoi(fields[3], &owner.gid);
    }
  } else {
    if (!FindEntry(passwd, 0, user_part, &fields) || fields.size() < 4 ||
        !absl::SimpleAtoi(fields[2], &owner.uid) || !absl::SimpleAtoi(fields[3], &owner.gid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to find user ", user_part, ": no matching entries in passwd file"));
    }
  }
  if (spec.size() == 2 && !spec[1].empty()) {
    const std::string& group_part = spec[1];
    if (absl::SimpleAtoi(group_part, &number)) {
      owner.gid = number;
    } else if (!FindEntry(group, 0, group_part, &fields) ||
               !absl::SimpleAtoi(fields[2], &owner.gid)) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to find group ", group_part, ": no matching entries in group file"));
    }
  }
  return owner;
}

absl::StatusOr<Owner> ResolveOwnerInRoot(int root_fd, const std::string& user) {
  ASSIGN_OR_RETURN(std::string passwd, ReadInRoot(root_fd, "/etc/passwd"));
  ASSIGN_OR_RETURN(std::string group, ReadInRoot(root_fd, "/etc/group"));
  return ResolveOwner(user, passwd, group);
}

}  // namespace berth::containerfs
