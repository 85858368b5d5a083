// The layer tars of the steps that need no container: the files a COPY/ADD
// plan writes and the directories WORKDIR makes, as the uncompressed tar
// stored's ApplyLayer takes. Only what the step changes is in it: directories
// that already exist in the parent image are not repeated (their mode and
// owner stay), missing parents of the destination are made 0755 with the
// step's owner, as Docker's MkdirAllAndChown does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "imaged/build/context.h"
#include "imaged/build/copy.h"

namespace berth::imaged::build {

struct Owner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

// Where the tar goes.
using TarSinkFn = std::function<absl::Status(absl::string_view bytes)>;
// True when the absolute path exists in the parent image.
using ExistsFn = std::function<bool(const std::string& path)>;

// --chown's user[:group] (names or numbers; a lone user is also the group,
// as in Docker) against the parent image's /etc/passwd and /etc/group
// contents. InvalidArgument "can't find uid for user app: no such user: app".
absl::StatusOr<Owner> ResolveChown(const std::string& chown, const std::string& passwd,
                                   const std::string& group);

// Writes plan's items read from source. Owner applies to everything unless
// plan.preserve_ownership (COPY --from), then the source files' owners stay.
// Files of extracted archives keep the archive's owners.
// kDownload items must be fetched first (FailedPrecondition here).
absl::Status WriteCopyLayer(const CopyPlan& plan, const SourceTree& source, const Owner& owner,
                            const ExistsFn& exists, const TarSinkFn& sink);

// WORKDIR's layer: dir and its missing parents, 0755, owned by owner; an
// empty tar when dir exists.
absl::Status WriteWorkdirLayer(const std::string& dir, const Owner& owner, const ExistsFn& exists,
                               const TarSinkFn& sink);

}  // namespace berth::imaged::build
