// The cgroup managers against the host's real cgroupfs (root; tagged local).
#include "runtimed/runtime/cgroups.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "absl/strings/strip.h"
#include "common/fs.h"

namespace berth::runtime {
namespace {

std::string Read(const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  REQUIRE(content.ok());
  return std::string(absl::StripTrailingAsciiWhitespace(*content));
}

struct PrivateParent {
  PrivateParent() : name("berth-test-" + std::to_string(std::random_device{}())) {}
  ~PrivateParent() {
    for (const char* c :
         {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices", ""}) {
      rmdir((std::string("/sys/fs/cgroup/") + c + "/" + name).c_str());
    }
  }
  std::string name;
};

TEST_CASE("a cgroup gets its limits, a process, and goes away") {
  PrivateParent parent;
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup = NewCgroupManager(parent.name + "/c1");
  REQUIRE(cgroup.ok());
  Resources resources;
  resources.memory_limit = 32 * 1024 * 1024;
  resources.cpu_shares = 512;
  resources.cpu_quota = 50000;
  resources.cpu_period = 100000;
  resources.pids_limit = 10;
  resources.memory_reservation = 16 * 1024 * 1024;
  resources.memory_swappiness = 0;
  resources.disable_oom_killer = true;
  resources.blkio_weight = 300;  // applied where the kernel has a weight file
  REQUIRE((*cgroup)->Create(resources).ok());
  bool v2 = IsCgroup2("/sys/fs/cgroup");
  std::string dir = (*cgroup)->Paths().front();
  if (v2) {
    CHECK(Read(dir + "/memory.max") == "33554432");
    CHECK(Read(dir + "/pids.max") == "10");
    CHECK(Read(dir + "/cpu.max") == "50000 100000");
    CHECK(Read(dir + "/memory.low") == "16777216");
  } else {
    CHECK(Read("/sys/fs/cgroup/memory/" + parent.name + "/c1/memory.limit_in_bytes") == "33554432");
    CHECK(Read("/sys/fs/cgroup/pids/" + parent.name + "/c1/pids.max") == "10");
    CHECK(Read("/sys/fs/cgroup/cpu/" + parent.name + "/c1/cpu.shares") == "512");
    CHECK(Read("/sys/fs/cgroup/cpu/" + parent.name + "/c1/cpu.cfs_quota_us") == "50000");
    std::string memory = "/sys/fs/cgroup/memory/" + parent.name + "/c1/";
    CHECK(Read(memory + "memory.soft_limit_in_bytes") == "16777216");
    CHECK(Read(memory + "memory.swappiness") == "0");
    CHECK(Read(memory + "memory.oom_control").find("oom_kill_disable 1") != std::string::npos);
  }
  // docker update: new limits on the existing cgroup.
  Resources updated;
  updated.memory_limit = 48 * 1024 * 1024;
  updated.pids_limit = 30;
  REQUIRE((*cgroup)->Update(updated).ok());
  if (v2) {
    CHECK(Read(dir + "/memory.max") == "50331648");
    CHECK(Read(dir + "/pids.max") == "30");
  } else {
    CHECK(Read("/sys/fs/cgroup/memory/" + parent.name + "/c1/memory.limit_in_bytes") == "50331648");
    CHECK(Read("/sys/fs/cgroup/pids/" + parent.name + "/c1/pids.max") == "30");
  }
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  REQUIRE((*cgroup)->AddProcess(child).ok());
  CHECK(*(*cgroup)->Pids() == std::vector<pid_t>{child});
  CHECK_FALSE((*cgroup)->OomKilled());
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  REQUIRE((*cgroup)->Destroy().ok());
  for (const std::string& path : (*cgroup)->Paths()) CHECK_FALSE(PathExists(path));
  CHECK((*cgroup)->Destroy().ok());  // idempotent
}

TEST_CASE("a process joins the cgroup itself through the files opened for it") {
  PrivateParent parent;
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup = NewCgroupManager(parent.name + "/c3");
  REQUIRE(cgroup.ok());
  REQUIRE((*cgroup)->Create(Resources{}).ok());
  absl::StatusOr<std::vector<UniqueFd>> files = (*cgroup)->OpenSelfJoin();
  REQUIRE(files.ok());
  if (IsCgroup2("/sys/fs/cgroup")) {
    CHECK(files->empty());  // v2 has no per-thread join of a domain cgroup: AddProcess
  } else {
    CHECK(files->size() == (*cgroup)->Paths().size());
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      // Drops root first: the opener's credentials are the ones that count.
      if (setresuid(65534, 65534, 65534) != 0) _exit(2);
      char result = JoinSelf(&*files).ok() ? 'y' : 'n';
      if (write(ready[1], &result, 1) != 1) _exit(3);
      pause();
      _exit(0);
    }
    files->clear();
    close(ready[1]);
    char result = 0;
    REQUIRE(read(ready[0], &result, 1) == 1);
    close(ready[0]);
    CHECK(result == 'y');
    for (const std::string& path : (*cgroup)->Paths()) {
      CHECK(Read(path + "/cgroup.procs") == std::to_string(child));
    }
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
  }
  REQUIRE((*cgroup)->Destroy().ok());
}

TEST_CASE("a limit the kernel refuses is named and leaves no cgroup") {
  PrivateParent parent;
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup = NewCgroupManager(parent.name + "/c2");
  REQUIRE(cgroup.ok());
  Resources resources;
  resources.cpu_quota = 1;
  resources.cpu_period = 100000;
  absl::Status status = (*cgroup)->Create(resources);
  REQUIRE_FALSE(status.ok());
  std::string expected = IsCgroup2("/sys/fs/cgroup") ? "cpu.max" : "cpu.cfs_quota_us";
  CHECK(std::string(status.message()).find(expected) != std::string::npos);
  for (const std::string& path : (*cgroup)->Paths()) CHECK_FALSE(PathExists(path));
}

TEST_CASE("cgroup paths may not escape") {
  CHECK(absl::IsInvalidArgument(NewCgroupManager("a/../b").status()));
  CHECK(absl::IsInvalidArgument(NewCgroupManager("/").status()));
}

}  // namespace
}  // namespace berth::runtime
