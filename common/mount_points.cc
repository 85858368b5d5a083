#include "common/mount_points.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/digest.h"

namespace berth {
namespace {

bool IsPropagation(absl::string_view option) {
  return option == "shared" || option == "rshared" || option == "slave" || option == "rslave" ||
         option == "private" || option == "rprivate";
}

bool ValidVolumeName(const std::string& name) {
  if (name.size() < 2) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

// "/a//b/" -> "/a/b"; Docker compares destinations cleaned.
std::string CleanPath(const std::string& path) {
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.emplace_back(part);
  }
  std::string cleaned;
  for (const std::string& part : parts) absl::StrAppend(&cleaned, "/", part);
  return cleaned.empty() ? "/" : cleaned;
}

std::string GetString(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

bool GetBool(const Json& object, const char* key) {
  if (!object.is_object()) return false;
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() && it->get<bool>();
}

// const operator[] on a missing key is undefined behaviour in nlohmann.
Json Member(const Json& object, const char* key) {
  return object.is_object() ? object.value(key, Json()) : Json();
}

absl::Status InvalidSpec(const std::string& spec) {
  return absl::InvalidArgumentError(absl::StrCat("invalid volume specification: '", spec, "'"));
}

absl::StatusOr<MountPoint> ParseBind(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, ':');
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return InvalidSpec(spec);
  }
  if (parts[1][0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid volume specification: '", spec, "': invalid mount config for type ",
        "\"volume\": invalid mount path: '", parts[1], "' mount path must be absolute"));
  }
  MountPoint m;
  m.destination = CleanPath(parts[1]);
  if (parts[0][0] == '/') {
    m.type = "bind";
    m.source = CleanPath(parts[0]);
    m.propagation = "rprivate";
    m.create_source = true;
  } else {
    if (!ValidVolumeName(parts[0])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "create ", parts[0], ": \"", parts[0],
          "\" includes invalid characters for a local volume name, only "
          "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
          "use absolute path"));
    }
    m.type = "volume";
    m.name = parts[0];
    m.mode = "z";
  }
  if (parts.size() == 3) {
    m.mode = parts[2];
    for (absl::string_view option : absl::StrSplit(parts[2], ',', absl::SkipEmpty())) {
      if (option == "ro") {
        m.read_write = false;
      } else if (option == "rw" || option == "z" || option == "Z") {
      } else if (option == "nocopy" && m.type == "volume") {
        m.copy_data = false;
      } else if (IsPropagation(option) && m.type == "bind") {
        m.propagation = std::string(option);
      } else {
        return absl::InvalidArgumentError(absl::StrCat("invalid mode: ", std::string(option)));
      }
    }
  }
  return m;
}

absl::StatusOr<MountPoint> ParseMount(const Json& mount, const std::string& container_id) {
  const std::string type = GetString(mount, "Type");
  const std::string target = GetString(mount, "Target");
  const std::string source = GetString(mount, "Source");
  auto invalid = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid mount config for type \"", type, "\": ", why));
  };
  if (target.empty()) return invalid("field Target must not be empty");
  if (target[0] != '/') {
    return invalid(absl::StrCat("invalid mount path: '", target, "' mount path must be absolute"));
  }
  MountPoint m;
  m.type = type;
  m.destination = CleanPath(target);
  m.read_write = !GetBool(mount, "ReadOnly");
  if (type == "bind") {
    if (source.empty()) return invalid("field Source must not be empty");
    if (source[0] != '/') {
      return invalid(
          absl::StrCat("invalid mount path: '", source, "' mount path must be absolute"));
    }
    m.source = CleanPath(source);
    m.propagation = GetString(Member(mount, "BindOptions"), "Propagation");
    if (m.propagation.empty()) m.propagation = "rprivate";
    if (!IsPropagation(m.propagation)) return invalid("invalid propagation " + m.propagation);
    m.create_source = GetBool(Member(mount, "BindOptions"), "CreateMountpoint");
  } else if (type == "volume") {
    if (source.empty()) {
      m.anonymous = true;
      m.name = AnonymousVolumeName(container_id, m.destination);
    } else if (!ValidVolumeName(source)) {
      return invalid(absl::StrCat("invalid volume name \"", source, "\""));
    } else {
      m.name = source;
    }
    m.copy_data = !GetBool(Member(mount, "VolumeOptions"), "NoCopy");
    m.mode = "z";
  } else if (type == "tmpfs") {
    if (!source.empty()) return invalid("field Source must not be specified");
    m.tmpfs_options = {"nosuid", "nodev", "noexec"};
    const Json options = Member(mount, "TmpfsOptions");
    if (options.is_object()) {
      if (auto size = options.find("SizeBytes"); size != options.end() && size->is_number()) {
        if (int64_t bytes = size->get<int64_t>(); bytes > 0) {
          m.tmpfs_options.push_back(absl::StrCat("size=", bytes));
        }
      }
      if (auto mode = options.find("Mode"); mode != options.end() && mode->is_number()) {
        char octal[16];
        snprintf(octal, sizeof octal, "mode=%o", mode->get<unsigned>() & 07777);
        m.tmpfs_options.push_back(octal);
      }
    }
  } else {
    return absl::InvalidArgumentError(absl::StrCat("mount type unknown: \"", type, "\""));
  }
  return m;
}

size_t Depth(const std::string& path) { return std::count(path.begin(), path.end(), '/'); }

}  // namespace

std::string AnonymousVolumeName(const std::string& container_id, const std::string& destination) {
  // Sha256Digest gives "sha256:<hex>".
  return Sha256Digest(absl::StrCat("berth-anonymous-volume\n", container_id, "\n", destination))
      .substr(7);
}

absl::StatusOr<std::vector<MountPoint>> ParseMountPoints(const Json& config,
                                                         const Json& host_config,
                                                         const std::string& container_id) {
  std::vector<MountPoint> mounts;
  std::set<std::string> destinations;
  auto add = [&](MountPoint m) -> absl::Status {
    if (m.destination == "/") {
      return absl::InvalidArgumentError("invalid specification: destination can't be '/'");
    }
    if (!destinations.insert(m.destination).second) {
      return absl::InvalidArgumentError("Duplicate mount point: " + m.destination);
    }
    mounts.push_back(std::move(m));
    return absl::OkStatus();
  };
  const Json binds = host_config.is_object() ? host_config.value("Binds", Json()) : Json();
  if (binds.is_array()) {
    for (const Json& bind : binds) {
      if (!bind.is_string()) return absl::InvalidArgumentError("invalid bind: not a string");
      absl::StatusOr<MountPoint> m = ParseBind(bind.get<std::string>());
      if (!m.ok()) return m.status();
      if (absl::Status s = add(std::move(*m)); !s.ok()) return s;
    }
  }
  const Json list = host_config.is_object() ? host_config.value("Mounts", Json()) : Json();
  if (list.is_array()) {
    for (const Json& mount : list) {
      absl::StatusOr<MountPoint> m = ParseMount(mount, container_id);
      if (!m.ok()) return m.status();
      if (absl::Status s = add(std::move(*m)); !s.ok()) return s;
    }
  }
  // An image's or the client's VOLUME not covered by an explicit mount.
  const Json volumes = config.is_object() ? config.value("Volumes", Json()) : Json();
  if (volumes.is_object()) {
    for (auto it = volumes.begin(); it != volumes.end(); ++it) {
      if (it.key().empty() || it.key()[0] != '/') {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid mount config for type \"volume\": invalid mount path: '",
                         it.key(), "' mount path must be absolute"));
      }
      const std::string destination = CleanPath(it.key());
      if (destinations.count(destination)) continue;
      MountPoint m;
      m.type = "volume";
      m.destination = destination;
      m.anonymous = true;
      m.name = AnonymousVolumeName(container_id, destination);
      if (absl::Status s = add(std::move(m)); !s.ok()) return s;
    }
  }
  std::stable_sort(mounts.begin(), mounts.end(), [](const MountPoint& a, const MountPoint& b) {
    return Depth(a.destination) < Depth(b.destination);
  });
  return mounts;
}

}  // namespace berth
