// berth-runc: runc's command line over the runtime library. One file per
// verb; dispatch.cc maps names to them (crun's layout).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace berth::runc {

struct GlobalOptions {
  std::string root = "/run/berth-runc";
  std::string log;
  std::string log_format = "text";
  // --systemd-cgroup: cgroupsPath is "slice:prefix:name", a systemd scope.
  bool systemd_cgroup = false;
};

// A verb gets its own arguments (after the verb name). It returns the
// process's exit code on success, so `run` can pass the container's on.
using VerbFunction = absl::Status (*)(const GlobalOptions& global,
                                      const std::vector<std::string>& args, int* exit_code);

struct Verb {
  const char* name;
  VerbFunction run;
  const char* summary;
};

absl::Status SpecVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status CreateVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status StartVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status RunVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status StateVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status KillVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status DeleteVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status ExecVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status ListVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status PsVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status PauseVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status ResumeVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status UpdateVerb(const GlobalOptions&, const std::vector<std::string>&, int*);
absl::Status FeaturesVerb(const GlobalOptions&, const std::vector<std::string>&, int*);

const std::vector<Verb>& Verbs();

// The whole command line; returns the exit code.
int Main(int argc, char** argv);

}  // namespace berth::runc
