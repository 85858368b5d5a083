// POST /containers/prune (docker container prune, and the first call of
// docker system prune): every container that is not running goes, as Moby
// prunes them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "apiserver/backends/backends.h"
#include "apiserver/router.h"

namespace berth::apiserver {

absl::Status PruneContainers(ContainerBackend* containers, Exchange& exchange);

// The IDs of the containers a prune with these filters removes: created,
// exited or dead (a paused container is running), created before until=
// (Docker's timestamps), with every label= (label!= excludes).
absl::StatusOr<std::vector<std::string>> ContainersToPrune(
    const std::vector<runtime::v1::Container>& containers, const std::string& filters_json,
    int64_t now_seconds);

}  // namespace berth::apiserver
