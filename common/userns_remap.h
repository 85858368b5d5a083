// daemon.json's "userns-remap": which host user's subordinate ids the
// containers' root and users become (dockerd's --userns-remap).
//
// runtimed (the containers' user namespace), stored (idmapped image layers,
// the writable layer's owner) and the apiserver (docker info) each read the
// setting from daemon.json: there is no remap state of berth's own to share,
// /etc/subuid and /etc/subgid are the source of truth.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/id_map.h"
#include "common/json.h"

namespace berth {

struct UsernsRemap {
  std::string user;
  std::string group;
  std::vector<IdMapping> uids;
  std::vector<IdMapping> gids;
  // The host ids of the containers' root.
  uid_t RootUid() const { return uids.front().host_id; }
  gid_t RootGid() const { return gids.front().host_id; }
};

// daemon.json's "userns-remap" ("" when it is absent or empty).
absl::StatusOr<std::string> UsernsRemapSetting(const Json& config);

// "default" (dockremap:dockremap), "user", "user:group", "uid:gid". An empty
// group means the user's own name.
struct RemapNames {
  std::string user;
  std::string group;
};
absl::StatusOr<RemapNames> ParseRemapSetting(const std::string& setting);

// The ranges ("start", "count") of /etc/subuid or /etc/subgid text that
// belong to `name` or to the numeric `id`, sorted by start as dockerd sorts
// them. Comments, blank and malformed lines are skipped.
std::vector<std::pair<uint32_t, uint32_t>> SubordinateRanges(const std::string& text,
                                                             const std::string& name,
                                                             const std::string& id);

// The map for those ranges: container ids from 0 upwards, one entry per
// range, contiguous.
std::vector<IdMapping> BuildIdMap(const std::vector<std::pair<uint32_t, uint32_t>>& ranges);

// The first start >= 100000 where `count` ids overlap no range of `text`
// (any owner): where a new dockremap range goes.
uint32_t NextFreeRange(const std::string& text, uint32_t count);

struct SubidFiles {
  std::string subuid = "/etc/subuid";
  std::string subgid = "/etc/subgid";
};

// The setting resolved against the host's users and /etc/subuid,
// /etc/subgid. "default" creates the dockremap user and its ranges when
// missing, as dockerd does (useradd -r, usermod -v/-w), under a lock so that
// daemons starting together create it once.
absl::StatusOr<UsernsRemap> ResolveUsernsRemap(const std::string& setting,
                                               const SubidFiles& files = {});

// Reads config_file (a missing file is an empty config) and resolves its
// setting; nullopt when remapping is off.
absl::StatusOr<std::optional<UsernsRemap>> LoadUsernsRemap(const std::string& config_file);

// The container's id for a host id (what a layer records for a file the
// remapped container wrote); ids outside the map are kept as they are.
uint32_t ToContainerId(const std::vector<IdMapping>& map, uint32_t host_id);

// The host's id for a container id; ids outside the map are kept.
uint32_t ToHostId(const std::vector<IdMapping>& map, uint32_t container_id);

}  // namespace berth
