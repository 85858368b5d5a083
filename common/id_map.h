// User namespace id maps (linux.uidMappings/gidMappings, /proc/<pid>/uid_map)
// and a user namespace holding them, shared by the runtime (idmapped mounts)
// and stored (idmapped image layers under userns-remap).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth {

// `size` ids from container_id on map to host_id on.
struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// The text of a uid_map / gid_map file: one "container host size" line each.
std::string FormatIdMap(const std::vector<IdMapping>& map);

// A new user namespace with these maps, as a descriptor: a child is born in
// it, the maps are written, the namespace is opened and the child let go, so
// no process stays in it (the namespace lives as long as the descriptor).
absl::StatusOr<UniqueFd> OpenMappedUserNamespace(const std::vector<IdMapping>& uids,
                                                 const std::vector<IdMapping>& gids);

}  // namespace berth
