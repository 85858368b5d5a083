// linux.seccomp of the OCI runtime spec: parsed from config.json, compiled
// into a libseccomp filter before the container's init is cloned (so a bad
// profile fails `create`, not the container's first syscall), and loaded by
// the init just before it execs.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth::runtime {

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // "SCMP_CMP_EQ", ...
};

struct SeccompRule {
  std::vector<std::string> names;
  std::string action;  // "SCMP_ACT_ALLOW", ...
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::vector<SeccompRule> syscalls;
};

// Parses the linux.seccomp object; errors name the field, as ParseSpec does.
absl::StatusOr<Seccomp> ParseSeccomp(const Json& json);

// A compiled filter: the BPF program the kernel takes.
class SeccompFilter {
 public:
  // Validates every action, operator, architecture and flag. Syscall names
  // unknown to this libseccomp are skipped, as runc does: profiles list
  // syscalls of newer kernels and other architectures. With a cache_dir, a
  // profile compiled before is read back instead of compiled again (it costs
  // milliseconds of every container start otherwise), as crun does.
  static absl::StatusOr<std::unique_ptr<SeccompFilter>> Compile(const Seccomp& seccomp,
                                                                const std::string& cache_dir = "");

  // Installs the filter on the calling thread. Without no_new_privs this
  // needs CAP_SYS_ADMIN, so callers load it before dropping capabilities
  // unless the process set no_new_privs.
  absl::Status Load() const;

  // The number of (syscall, arguments) rules added; for tests and logs.
  int rule_count() const { return rule_count_; }
  size_t instruction_count() const { return program_.size(); }

 private:
  SeccompFilter(std::vector<sock_filter> program, unsigned flags, int rule_count)
      : program_(std::move(program)), flags_(flags), rule_count_(rule_count) {}
  std::vector<sock_filter> program_;
  unsigned flags_;  // SECCOMP_FILTER_FLAG_*
  int rule_count_;
};

}  // namespace berth::runtime
