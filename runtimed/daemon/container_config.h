// Docker's create-time rules: how a container's Config is merged with its
// image's config, which HostConfig defaults are filled in, and the process
// (argv, environment) that results.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runtimed {

struct CreateConfig {
  // Docker's Config as inspect shows it: every field the client sent, with
  // the image's defaults merged in.
  Json config;
  // HostConfig with Docker's defaults filled in.
  Json host_config;
  // The process: Path and Args in inspect.
  std::string path;
  std::vector<std::string> args;
};

// user_config / host_config: the JSON objects the client sent (null allowed).
// image_config: the "config" object of the image config blob (null allowed).
// id: the new container's ID (the default hostname is its first 12 digits).
absl::StatusOr<CreateConfig> MergeCreateConfig(const Json& user_config, const Json& host_config,
                                               const Json& image_config, const std::string& id);

// The container's process environment: PATH (when the config has none),
// HOSTNAME, TERM=xterm with a tty, overridden per key by Config.Env.
std::vector<std::string> ProcessEnv(const Json& config);

// Replaces entries of `base` with the same key ("KEY=..." or "KEY") and
// appends the others.
std::vector<std::string> ReplaceOrAppendEnv(std::vector<std::string> base,
                                            const std::vector<std::string>& overrides);

// A JSON array of strings (or one string, as Docker's StrSlice accepts);
// null and anything else give an empty list.
std::vector<std::string> StringList(const Json& value);

// "10m", "1g", "1024" as bytes (binary units, as Docker's units.RAMInBytes).
absl::StatusOr<int64_t> ParseByteSize(const std::string& text);

// Helpers to read optional fields of Docker's documents.
std::string JsonString(const Json& object, const char* key);
int64_t JsonInt(const Json& object, const char* key);
bool JsonBool(const Json& object, const char* key);

inline constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
inline constexpr int64_t kDefaultShmSize = 64 << 20;

}  // namespace berth::runtimed
