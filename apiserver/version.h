// API version negotiation, as Moby's version middleware does it: paths may
// carry a /vX.Y prefix between the minimum and maximum supported versions;
// unversioned paths get the maximum.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::apiserver {

inline constexpr char kMaxApiVersion[] = "1.50";
inline constexpr char kMinApiVersion[] = "1.24";
// Reported by /version where Docker names its Go build.
inline constexpr char kGitCommit[] = "berth";
inline constexpr char kGoVersion[] = "c++17";
inline constexpr char kBuildTime[] = "unknown";

struct VersionedPath {
  std::string version;
  std::string path;
};

// Splits "/v1.41/containers/json" into {"1.41", "/containers/json"}. A version
// outside [min, max] is InvalidArgument with Docker's message.
absl::StatusOr<VersionedPath> StripApiVersion(absl::string_view path);

// Compares "1.41" and "1.9" numerically: <0, 0, >0.
int CompareVersions(absl::string_view a, absl::string_view b);

inline bool VersionAtLeast(absl::string_view version, absl::string_view min) {
  return CompareVersions(version, min) >= 0;
}

}  // namespace berth::apiserver
