#include "common/privileges.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <string>

namespace berth {
namespace {

// Reads a "Name:\tvalue" line of /proc/self/status in the calling process.
std::string StatusField(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return line.substr(field.size() + 2);
  }
  return "";
}

// Runs fn in a forked child after applying spec; the child's exit code is
// fn's result (0 = the expectation held).
int RunChild(const PrivilegeSpec& spec, int (*fn)()) {
  pid_t pid = fork();
  if (pid == 0) {
    if (!ApplyPrivileges(spec).ok()) _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

}  // namespace

TEST_CASE("capability names parse with and without CAP_", "[privileges]") {
  CHECK(*CapabilityFromName("CAP_SYS_ADMIN") == 21);
  CHECK(*CapabilityFromName("net_admin") == 12);
  CHECK_FALSE(CapabilityFromName("CAP_NOT_A_THING").ok());
}

TEST_CASE("a root daemon keeps only the capabilities it is given", "[privileges]") {
  REQUIRE(geteuid() == 0);  // tagged local: runs as root
  PrivilegeSpec spec;
  spec.keep_root = true;
  spec.capabilities = {"CAP_NET_ADMIN", "CAP_SYS_ADMIN"};
  // Bounding set = bits 12 and 21 only.
  int rc = RunChild(spec, [] { return StatusField("CapBnd") == "0000000000201000" ? 0 : 1; });
  CHECK(rc == 0);
}

TEST_CASE("an unprivileged daemon has no capabilities and cannot regain root", "[privileges]") {
  REQUIRE(geteuid() == 0);  // tagged local: runs as root
  PrivilegeSpec spec;
  spec.keep_root = false;
  spec.user = Identity{65534, 65534, "nobody"};
  spec.supplementary_groups = {65534};
  int rc = RunChild(spec, [] {
    if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534) return 1;
    if (StatusField("CapEff") != "0000000000000000") return 2;
    if (StatusField("CapBnd") != "0000000000000000") return 3;
    if (StatusField("NoNewPrivs") != "1") return 4;
    if (setuid(0) == 0) return 5;
    return 0;
  });
  CHECK(rc == 0);
}

}  // namespace berth
