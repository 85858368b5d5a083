#include "common/mount_propagation.h"

#include <limits.h>
#include <stdlib.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace berth {
namespace {

bool IsShared(const std::string& p) { return p == "shared" || p == "rshared"; }
bool IsSlave(const std::string& p) { return p == "slave" || p == "rslave"; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      int value = 0;
      bool octal = true;
      for (size_t j = 1; j <= 3; ++j) {
        char c = field[i + j];
        if (c < '0' || c > '7') octal = false;
        value = value * 8 + (c - '0');
      }
      if (octal) {
        out += static_cast<char>(value);
        i += 3;
        continue;
      }
    }
    out += field[i];
  }
  return out;
}

bool Holds(const std::string& mount_point, const std::string& path) {
  if (mount_point == "/") return true;
  return path == mount_point ||
         (path.size() > mount_point.size() &&
          path.compare(0, mount_point.size(), mount_point) == 0 && path[mount_point.size()] == '/');
}

bool HasField(const std::string& optional_fields, absl::string_view prefix) {
  for (absl::string_view field : absl::StrSplit(optional_fields, ' ', absl::SkipEmpty())) {
    if (absl::StartsWith(field, prefix)) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<HoldingMount> MountHolding(const std::string& path, const std::string& mountinfo) {
  HoldingMount best;
  bool found = false;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    // id parent major:minor root mount-point options [optional...] - type source super
    if (fields.size() < 7) continue;
    std::string mount_point = Unescape(fields[4]);
    if (!Holds(mount_point, path)) continue;
    // The last mount on a path wins (it hides those beneath), as the
    // longest mount point does.
    if (found && mount_point.size() < best.mount_point.size()) continue;
    std::string optional;
    for (size_t i = 6; i < fields.size() && fields[i] != "-"; ++i) {
      absl::StrAppend(&optional, optional.empty() ? "" : " ", fields[i]);
    }
    best = {mount_point, optional};
    found = true;
  }
  if (!found) return absl::NotFoundError(absl::StrCat("could not find source mount of ", path));
  return best;
}

absl::Status CheckBindPropagation(const MountPoint& bind, const std::string& mountinfo) {
  if (bind.type != "bind" || (!IsShared(bind.propagation) && !IsSlave(bind.propagation))) {
    return absl::OkStatus();
  }
  char resolved[PATH_MAX];
  // A source that is not there fails the mount itself, in clearer words.
  if (realpath(bind.source.c_str(), resolved) == nullptr) return absl::OkStatus();
  absl::StatusOr<HoldingMount> holding = MountHolding(resolved, mountinfo);
  if (!holding.ok()) return holding.status();
  if (HasField(holding->optional_fields, "shared:")) return absl::OkStatus();
  if (IsSlave(bind.propagation)) {
    if (HasField(holding->optional_fields, "master:")) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("path ", bind.source, " is mounted on ",
                                                      holding->mount_point,
                                                      " but it is not a shared or slave mount"));
  }
  return absl::FailedPreconditionError(absl::StrCat("path ", bind.source, " is mounted on ",
                                                    holding->mount_point,
                                                    " but it is not a shared mount"));
}

std::string RootfsPropagationFor(const std::vector<MountPoint>& mounts) {
  std::string result;
  for (const MountPoint& m : mounts) {
    if (m.type != "bind") continue;
    if (IsShared(m.propagation)) return "shared";
    if (IsSlave(m.propagation)) result = "rslave";
  }
  return result;
}

}  // namespace berth
