// HostConfig.SecurityOpt as Docker reads it, and the seccomp profile a
// container runs under: Docker's default profile (the same syscalls, argument
// filters and capability- and architecture-dependent rules), a profile the
// client sent (`--security-opt seccomp=profile.json`: the CLI sends the file's
// content), or none (`seccomp=unconfined`, `--privileged`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runtimed {

struct SecurityOptions {
  // "" = Docker's default profile, "unconfined", or a profile in Docker's JSON.
  std::string seccomp;
  bool no_new_privileges = false;
};

// InvalidArgument in Docker's words (`invalid --security-opt 2: "x"`) for an
// option Docker does not know. label= and apparmor= are accepted and have no
// effect here: berth runs where neither SELinux nor AppArmor confines it.
absl::StatusOr<SecurityOptions> ParseSecurityOptions(const std::vector<std::string>& options);

struct SeccompContext {
  // Effective capabilities of the container's process ("CAP_SYS_ADMIN", ...).
  std::vector<std::string> capabilities;
  // Go's name of the host architecture ("amd64", "arm64", ...), which is what
  // profiles match in includes/excludes.
  std::string go_arch;
  // `uname -r`, for includes.minKernel.
  std::string kernel_release;
};

// The host's architecture and kernel, for SeccompContext.
SeccompContext HostSeccompContext();

// Docker's seccomp profile format turned into the OCI linux.seccomp object for
// this container; rules whose includes/excludes do not match the context are
// dropped. InvalidArgument for a profile that does not parse.
absl::StatusOr<Json> OciSeccompFromProfile(const Json& profile, const SeccompContext& context);

// Docker's built-in default profile, in Docker's profile format.
const Json& DefaultSeccompProfile();

// linux.seccomp for a container, or nullopt when it runs unconfined.
absl::StatusOr<std::optional<Json>> ContainerSeccomp(const SecurityOptions& options,
                                                     bool privileged,
                                                     const SeccompContext& context);

}  // namespace berth::runtimed
