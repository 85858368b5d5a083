#include "runtimed/runtime/seccomp.h"

#include <dirent.h>
#include <errno.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>

#include "common/json.h"

namespace berth::runtime {
namespace {

Seccomp Parse(const char* text) {
  absl::StatusOr<Seccomp> parsed = ParseSeccomp(Json::parse(text));
  REQUIRE(parsed.ok());
  return *parsed;
}

// Loads the filter in a forked child (with no_new_privs, as an unprivileged
// process must) and returns what `probe` returns there: the filter stays out
// of the test process.
int InChild(const SeccompFilter& filter, const std::function<int()>& probe) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !filter.Load().ok()) _exit(200);
    _exit(probe());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

int ErrnoOf(int rc) { return rc == 0 ? 0 : errno; }

TEST_CASE("a rule's errno reaches the caller, other syscalls are untouched") {
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]
  })");
  auto filter = SeccompFilter::Compile(seccomp);
  REQUIRE(filter.ok());
  CHECK(InChild(**filter, [] { return ErrnoOf(mkdir("/tmp/seccomp-test-never", 0700)); }) ==
        ENOSPC);
  CHECK(InChild(**filter, [] { return getpid() > 0 ? 0 : 1; }) == 0);
}

TEST_CASE("argument filters match only the listed values") {
  // personality(0xffffffff) only queries; anything else is refused.
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_NE"}]}
    ]
  })");
  auto filter = SeccompFilter::Compile(seccomp);
  REQUIRE(filter.ok());
  CHECK(InChild(**filter, [] { return personality(0xffffffff) == -1 ? errno : 0; }) == 0);
  CHECK(InChild(**filter, [] { return personality(PER_LINUX32) == -1 ? errno : 0; }) == EPERM);
}

TEST_CASE("several comparisons of one argument mean any of them") {
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
       "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                {"index": 0, "value": 131072, "op": "SCMP_CMP_EQ"}]}
    ]
  })");
  auto filter = SeccompFilter::Compile(seccomp);
  REQUIRE(filter.ok());
  CHECK((*filter)->rule_count() == 2);
  CHECK(InChild(**filter, [] { return personality(8) == -1 ? errno : 0; }) == EINVAL);
  CHECK(InChild(**filter, [] { return personality(131072) == -1 ? errno : 0; }) == EINVAL);
  CHECK(InChild(**filter, [] { return personality(0xffffffff) == -1 ? errno : 0; }) == 0);
}

TEST_CASE("an allow-list default denies with its errno") {
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "syscalls": [{"names": ["exit", "exit_group", "getpid"], "action": "SCMP_ACT_ALLOW"}]
  })");
  auto filter = SeccompFilter::Compile(seccomp);
  REQUIRE(filter.ok());
  // glibc's getppid() cannot fail, so it sets no errno: ask the kernel directly.
  CHECK(InChild(**filter, [] { return syscall(SYS_getppid) == -1 ? errno : 0; }) == EPERM);
  CHECK(InChild(**filter, [] { return getpid() > 0 ? 0 : 1; }) == 0);
}

TEST_CASE("names unknown to libseccomp are skipped, rules equal to the default dropped") {
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [
      {"names": ["no_such_syscall_ever", "getppid"], "action": "SCMP_ACT_ERRNO"},
      {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}
    ]
  })");
  auto filter = SeccompFilter::Compile(seccomp);
  REQUIRE(filter.ok());
  CHECK((*filter)->rule_count() == 1);
}

TEST_CASE("a compiled profile is kept in the cache and read back the same") {
  char dir[] = "/tmp/seccacheXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string cache = std::string(dir) + "/cache";
  Seccomp seccomp = Parse(R"({
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]
  })");
  auto first = SeccompFilter::Compile(seccomp, cache);
  REQUIRE(first.ok());
  DIR* listing = opendir(cache.c_str());
  REQUIRE(listing != nullptr);
  int files = 0;
  while (dirent* entry = readdir(listing)) files += entry->d_name[0] != '.';
  closedir(listing);
  CHECK(files == 1);
  auto second = SeccompFilter::Compile(seccomp, cache);
  REQUIRE(second.ok());
  CHECK((*second)->instruction_count() == (*first)->instruction_count());
  CHECK((*second)->rule_count() == (*first)->rule_count());
  CHECK(InChild(**second, [] { return ErrnoOf(mkdir("/tmp/seccomp-test-never", 0700)); }) ==
        ENOSPC);
  // Another profile is another entry.
  seccomp.syscalls[0].errno_ret = 27;
  auto other = SeccompFilter::Compile(seccomp, cache);
  REQUIRE(other.ok());
  CHECK(InChild(**other, [] { return ErrnoOf(mkdir("/tmp/seccomp-test-never", 0700)); }) == EFBIG);
  std::string rm = std::string("rm -rf ") + dir;
  CHECK(system(rm.c_str()) == 0);
}

TEST_CASE("bad profiles are refused naming the field") {
  auto compile = [](const char* text) -> absl::Status {
    absl::StatusOr<Seccomp> parsed = ParseSeccomp(Json::parse(text));
    if (!parsed.ok()) return parsed.status();
    return SeccompFilter::Compile(*parsed).status();
  };
  absl::Status status = compile(R"({"syscalls": []})");
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()).find("defaultAction") != std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_NOPE"})");
  CHECK(std::string(status.message()).find("unknown action \"SCMP_ACT_NOPE\"") !=
        std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]})");
  CHECK(std::string(status.message()).find("architectures[0]") != std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ERRNO",
       "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ALMOST"}]}]})");
  CHECK(std::string(status.message()).find("syscalls[0].args[0].op") != std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_KILL", "errnoRet": 1}]})");
  CHECK(std::string(status.message()).find("does not take an errno") != std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": [], "action": "SCMP_ACT_KILL"}]})");
  CHECK(std::string(status.message()).find("syscalls[0].names") != std::string::npos);

  status = compile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1,
       "op": "SCMP_CMP_EQ"}]}]})");
  CHECK(std::string(status.message()).find("out of range") != std::string::npos);
}

}  // namespace
}  // namespace berth::runtime
