#include "runtimed/daemon/volumes_from.h"

#include <limits.h>
#include <stdlib.h>

#include <set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/mount_points.h"
#include "common/status.h"

namespace berth::runtimed {

absl::Status ExpandVolumesFrom(const Json& config, Json& host_config, const std::string& id,
                               const ContainerLookup& lookup) {
  if (!host_config.is_object()) return absl::OkStatus();
  auto from = host_config.find("VolumesFrom");
  if (from == host_config.end() || !from->is_array() || from->empty()) return absl::OkStatus();

  ASSIGN_OR_RETURN(std::vector<MountPoint> own, ParseMountPoints(config, host_config, id));
  std::set<std::string> taken;
  for (const MountPoint& m : own) taken.insert(m.destination);

  Json added = Json::array();
  for (const Json& entry : *from) {
    if (!entry.is_string()) return absl::InvalidArgumentError("invalid VolumesFrom entry");
    std::string spec = entry.get<std::string>();
    std::string ref = spec;
    std::string mode;
    if (size_t colon = spec.find(':'); colon != std::string::npos) {
      ref = spec.substr(0, colon);
      mode = spec.substr(colon + 1);
    }
    if (!mode.empty() && mode != "ro" && mode != "rw") {
      return absl::InvalidArgumentError(absl::StrCat("invalid mode for volumes-from: ", mode));
    }
    ASSIGN_OR_RETURN(runtime::v1::Container donor, lookup(ref));
    ASSIGN_OR_RETURN(Json donor_config, ParseJson(donor.config_json()));
    ASSIGN_OR_RETURN(Json donor_host, ParseJson(donor.host_config_json()));
    ASSIGN_OR_RETURN(std::vector<MountPoint> mounts,
                     ParseMountPoints(donor_config, donor_host, donor.id()));
    for (const MountPoint& m : mounts) {
      if (m.type != "volume" && m.type != "bind") continue;
      if (!taken.insert(m.destination).second) continue;
      bool read_only = mode.empty() ? !m.read_write : mode == "ro";
      Json mount = {{"Type", m.type},
                    {"Source", m.type == "volume" ? m.name : m.source},
                    {"Target", m.destination},
                    {"ReadOnly", read_only}};
      // The volume already holds the donor's data: nothing to copy in.
      if (m.type == "volume") mount["VolumeOptions"] = {{"NoCopy", true}};
      if (m.type == "bind" && !m.propagation.empty()) {
        mount["BindOptions"] = {{"Propagation", m.propagation}};
      }
      added.push_back(std::move(mount));
    }
  }
  if (added.empty()) return absl::OkStatus();
  Json& mounts = host_config["Mounts"];
  if (!mounts.is_array()) mounts = Json::array();
  for (Json& m : added) mounts.push_back(std::move(m));
  return absl::OkStatus();
}

absl::Status CheckBindSource(const std::string& source, const std::string& engine_root) {
  auto real = [](const std::string& path) {
    char buf[PATH_MAX];
    return realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
  };
  std::string root = real(engine_root);
  std::string src = real(source);
  if (root.empty() || root == "/") return absl::OkStatus();
  if (src == root || absl::StartsWith(src, root + "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid mount config for type \"bind\": bind source path ", source,
        " is inside the engine's data root ", root, ", which containers may not mount"));
  }
  return absl::OkStatus();
}

}  // namespace berth::runtimed
