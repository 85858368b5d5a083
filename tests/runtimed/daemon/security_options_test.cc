#include "runtimed/daemon/security_options.h"

#include <errno.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>

#include "runtimed/daemon/spec_builder.h"
#include "runtimed/runtime/seccomp.h"

namespace berth::runtimed {
namespace {

SeccompContext Amd64(std::vector<std::string> caps) {
  return SeccompContext{std::move(caps), "amd64", "6.1.0-18-amd64"};
}

// Names of the syscalls a rule allows (without argument filters) in an OCI
// seccomp object.
bool AllowsPlainly(const Json& oci, const std::string& name) {
  for (const Json& rule : oci["syscalls"]) {
    if (rule["action"] != "SCMP_ACT_ALLOW" || rule.contains("args")) continue;
    for (const Json& n : rule["names"]) {
      if (n == name) return true;
    }
  }
  return false;
}

int InChildUnder(const Json& oci, const std::function<int()>& probe) {
  auto parsed = runtime::ParseSeccomp(oci);
  REQUIRE(parsed.ok());
  auto filter = runtime::SeccompFilter::Compile(*parsed);
  REQUIRE(filter.ok());
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !(*filter)->Load().ok()) _exit(200);
    _exit(probe());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST_CASE("security options are read as Docker reads them") {
  auto parsed = ParseSecurityOptions({"no-new-privileges", "label=disable", "apparmor=unconfined"});
  REQUIRE(parsed.ok());
  CHECK(parsed->no_new_privileges);
  CHECK(parsed->seccomp.empty());

  parsed = ParseSecurityOptions({"no-new-privileges=false", "seccomp=unconfined"});
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed->no_new_privileges);
  CHECK(parsed->seccomp == "unconfined");

  parsed = ParseSecurityOptions({"seccomp=builtin"});
  REQUIRE(parsed.ok());
  CHECK(parsed->seccomp.empty());

  parsed = ParseSecurityOptions({"bogus"});
  CHECK(parsed.status().message() == "invalid --security-opt 1: \"bogus\"");
  parsed = ParseSecurityOptions({"frobnicate=yes"});
  CHECK(parsed.status().message() == "invalid --security-opt 2: \"frobnicate=yes\"");
  parsed = ParseSecurityOptions({"no-new-privileges=maybe"});
  CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("the default profile follows the container's capabilities and architecture") {
  auto plain = OciSeccompFromProfile(DefaultSeccompProfile(), Amd64(DefaultCapabilities()));
  REQUIRE(plain.ok());
  CHECK((*plain)["defaultAction"] == "SCMP_ACT_ERRNO");
  CHECK((*plain)["architectures"] ==
        Json::array({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}));
  CHECK(AllowsPlainly(*plain, "read"));
  CHECK(AllowsPlainly(*plain, "arch_prctl"));
  CHECK(AllowsPlainly(*plain, "ptrace"));  // kernel >= 4.8
  CHECK(AllowsPlainly(*plain, "chroot"));  // CAP_SYS_CHROOT is a default capability
  CHECK_FALSE(AllowsPlainly(*plain, "mount"));
  CHECK_FALSE(AllowsPlainly(*plain, "unshare"));
  CHECK_FALSE(AllowsPlainly(*plain, "reboot"));
  CHECK_FALSE(AllowsPlainly(*plain, "cacheflush"));  // arm only
  CHECK_FALSE(AllowsPlainly(*plain, "clone"));       // only with the namespace-flag filter

  std::vector<std::string> admin = DefaultCapabilities();
  admin.push_back("CAP_SYS_ADMIN");
  auto with_admin = OciSeccompFromProfile(DefaultSeccompProfile(), Amd64(admin));
  REQUIRE(with_admin.ok());
  CHECK(AllowsPlainly(*with_admin, "mount"));
  CHECK(AllowsPlainly(*with_admin, "clone"));
  CHECK(with_admin->dump().find("\"errnoRet\":38") == std::string::npos);

  auto old_kernel =
      OciSeccompFromProfile(DefaultSeccompProfile(), SeccompContext{{}, "amd64", "4.4.0"});
  REQUIRE(old_kernel.ok());
  CHECK_FALSE(AllowsPlainly(*old_kernel, "ptrace"));
}

TEST_CASE("a container under the default profile cannot make namespaces or use vsock") {
  auto oci = OciSeccompFromProfile(DefaultSeccompProfile(), Amd64(DefaultCapabilities()));
  REQUIRE(oci.ok());
  CHECK(InChildUnder(*oci, [] { return unshare(CLONE_NEWUTS) == 0 ? 0 : errno; }) == EPERM);
  CHECK(InChildUnder(*oci, [] { return syscall(SYS_clone3, nullptr, 0) == 0 ? 0 : errno; }) ==
        ENOSYS);
  CHECK(InChildUnder(*oci, [] {
          return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0) >= 0 ? 0 : errno;
        }) == EPERM);
  CHECK(InChildUnder(*oci, [] {
          int fd = socket(AF_UNIX, SOCK_STREAM, 0);
          return fd >= 0 ? 0 : errno;
        }) == 0);
  // A plain fork (clone without namespace flags) still works.
  CHECK(InChildUnder(*oci, [] {
          pid_t child = fork();
          if (child == 0) _exit(7);
          int status = 0;
          waitpid(child, &status, 0);
          return WIFEXITED(status) ? WEXITSTATUS(status) : 99;
        }) == 7);
}

TEST_CASE("a client's profile is converted, unconfined and privileged have none") {
  SecurityOptions options;
  options.seccomp = R"({"defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64"],
      "syscalls": [{"name": "mkdir", "action": "SCMP_ACT_ERRNO"},
                   {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
                    "excludes": {"caps": ["CAP_FOWNER"]}}]})";
  auto oci = ContainerSeccomp(options, false, Amd64({"CAP_FOWNER"}));
  REQUIRE(oci.ok());
  REQUIRE(oci->has_value());
  CHECK((**oci)["syscalls"].size() == 1);
  CHECK((**oci)["syscalls"][0]["names"] == Json::array({"mkdir"}));

  options.seccomp = R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"name": "mkdir", "names": ["chmod"], "action": "SCMP_ACT_ERRNO"}]})";
  CHECK(ContainerSeccomp(options, false, Amd64({})).status().code() ==
        absl::StatusCode::kInvalidArgument);
  options.seccomp = "{not json";
  CHECK(ContainerSeccomp(options, false, Amd64({})).status().code() ==
        absl::StatusCode::kInvalidArgument);

  options.seccomp = "unconfined";
  auto none = ContainerSeccomp(options, false, Amd64({}));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  options.seccomp = "";
  none = ContainerSeccomp(options, /*privileged=*/true, Amd64({}));
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
}

}  // namespace
}  // namespace berth::runtimed
