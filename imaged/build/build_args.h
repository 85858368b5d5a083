// Build arguments with Docker's scoping (moby builder/dockerfile/buildargs.go):
// --build-arg values override ARG defaults; ARGs before the first FROM (meta
// args) are visible in FROM lines and, inside a stage, only when redeclared
// with ARG; the proxy variables are predefined and usable without ARG but kept
// out of history and cache keys unless declared; a --build-arg that no ARG
// consumes is reported.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace berth::imaged::build {

// --build-arg values as the API sends them: null when the client had no value.
using BuildArgValues = std::map<std::string, std::optional<std::string>>;

class BuildArgs {
 public:
  // platform_args: TARGETPLATFORM, TARGETOS, ... with their values; like
  // BuildKit's they are global ARGs that exist without being declared.
  explicit BuildArgs(BuildArgValues from_options,
                     std::map<std::string, std::string> platform_args = {});

  // An ARG before the first FROM (value already expanded).
  void AddMetaArg(const std::string& key, const std::optional<std::string>& value);
  // An ARG inside a stage (value already expanded); marks it consumed.
  void AddArg(const std::string& key, const std::optional<std::string>& value);
  // A new stage starts with no declared ARGs.
  void ResetAllowed();
  // Marks the args another stage consumed as consumed here too.
  void MergeReferencedArgs(const BuildArgs& other);

  // Declared ARGs (and predefined ones given as options) with a value.
  std::map<std::string, std::string> GetAllAllowed() const;
  // Global ARGs with a value, for FROM.
  std::map<std::string, std::string> GetAllMeta() const;
  // GetAllAllowed as KEY=VALUE, minus keys that env (KEY=VALUE) already sets.
  std::vector<std::string> FilterAllowed(const std::vector<std::string>& env) const;
  // False for a predefined (proxy) ARG the Dockerfile did not declare: such
  // values stay out of the image history and the cache key.
  bool IsReferencedOrNotBuiltin(const std::string& key) const;

  // "[Warning] One or more build-args [A B] were not consumed\n", or "".
  std::string UnusedWarning() const;

  static bool IsBuiltin(const std::string& key);

 private:
  bool Lookup(const std::string& key,
              const std::map<std::string, std::optional<std::string>>& source,
              std::string* value) const;
  std::map<std::string, std::string> AllFrom(
      const std::map<std::string, std::optional<std::string>>& source) const;

  BuildArgValues from_options_;
  std::map<std::string, std::optional<std::string>> allowed_;
  std::map<std::string, std::optional<std::string>> meta_;
  std::set<std::string> referenced_;
};

// `--build-arg` command-line values for the client side: "K=V" as given, a
// bare "K" takes the value of K in the environment (getenv), or null when K
// is not set there, as the docker CLI does.
BuildArgValues ParseBuildArgFlags(const std::vector<std::string>& flags,
                                  const std::map<std::string, std::string>& environment);

}  // namespace berth::imaged::build
