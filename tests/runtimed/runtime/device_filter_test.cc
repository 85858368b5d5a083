// The device cgroup on the host's real cgroupfs (root; tagged local): the v1
// devices controller through the manager, and the v2 eBPF filter wherever a
// cgroup2 hierarchy is mounted (hybrid hosts have one at .../unified).
#include "runtimed/runtime/device_filter.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <random>

#include "common/fs.h"
#include "runtimed/runtime/cgroups.h"

namespace berth::runtime {
namespace {

// Deny everything, then /dev/null fully and /dev/zero read-only.
std::vector<DeviceRule> Rules() {
  return {DeviceRule{false, 'a', -1, -1, "rwm"}, DeviceRule{true, 'c', 1, 3, "rwm"},
          DeviceRule{true, 'c', 1, 5, "r"}};
}

// What a process placed in the cgroup by `join` may do, as bits: 1 /dev/null
// rw, 2 /dev/zero r, 4 /dev/zero w, 8 /dev/full r, 16 mknod c 1:7.
int Probe(const std::string& scratch, const std::function<bool()>& join) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (!join()) _exit(255);
    int bits = 0;
    auto opens = [](const char* path, int flags) {
      int fd = open(path, flags | O_CLOEXEC);
      if (fd >= 0) close(fd);
      return fd >= 0;
    };
    if (opens("/dev/null", O_RDWR)) bits |= 1;
    if (opens("/dev/zero", O_RDONLY)) bits |= 2;
    if (opens("/dev/zero", O_WRONLY)) bits |= 4;
    if (opens("/dev/full", O_RDONLY)) bits |= 8;
    std::string node = scratch + "/full";
    if (mknod(node.c_str(), S_IFCHR | 0600, makedev(1, 7)) == 0) bits |= 16;
    _exit(bits);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

std::string Scratch() {
  char dir[] = "/tmp/devfXXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

TEST_CASE("device rules print as the v1 controller takes them") {
  CHECK(DeviceRuleLine(DeviceRule{false, 'a', -1, -1, "rwm"}) == "a *:* rwm");
  CHECK(DeviceRuleLine(DeviceRule{true, 'c', 136, -1, "rwm"}) == "c 136:* rwm");
  CHECK(DeviceRuleLine(DeviceRule{true, 'b', 8, 0, "m"}) == "b 8:0 m");
}

TEST_CASE("the program has one block per rule and denies by default") {
  // 6 loads, then per rule its tests and a return (2), then the final return.
  CHECK(CompileDeviceFilter({}).size() == 6 + 2);
  // A rule matching everything ends the program: earlier rules cannot matter.
  CHECK(CompileDeviceFilter({DeviceRule{true, 'a', -1, -1, "rwm"}}).size() == 6 + 2);
  CHECK(
      CompileDeviceFilter({DeviceRule{true, 'c', 1, 5, "r"}, DeviceRule{false, 'a', -1, -1, "rwm"}})
          .size() == 6 + 2);
  CHECK(CompileDeviceFilter(Rules()).size() == 6 + 8 + 5 + 2);
  // type, access (3), major, minor.
  CHECK(CompileDeviceFilter({DeviceRule{true, 'c', 1, 5, "r"}}).size() == 6 + 6 + 2 + 2);
}

TEST_CASE("the container's cgroup enforces its device rules") {
  std::string name = "berth-dev-" + std::to_string(std::random_device{}());
  auto cgroup = NewCgroupManager(name + "/c");
  REQUIRE(cgroup.ok());
  Resources resources;
  resources.devices = Rules();
  REQUIRE((*cgroup)->Create(resources).ok());
  std::string scratch = Scratch();
  CgroupManager* manager = cgroup->get();
  int bits = Probe(scratch, [manager] { return manager->AddProcess(getpid()).ok(); });
  CHECK(bits == (1 | 2));
  CHECK((*cgroup)->Destroy().ok());
  for (const char* c :
       {"devices", "memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", ""}) {
    rmdir((std::string("/sys/fs/cgroup/") + c + "/" + name).c_str());
  }
  RemoveAll(scratch).IgnoreError();
}

TEST_CASE("the eBPF filter enforces the rules on a cgroup2 hierarchy") {
  std::string root;
  for (const char* candidate : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (IsCgroup2(candidate)) root = candidate;
  }
  if (root.empty()) {
    WARN("no cgroup2 hierarchy mounted: the eBPF device filter is not exercised");
    return;
  }
  std::string dir = root + "/berth-devbpf-" + std::to_string(std::random_device{}());
  REQUIRE(mkdir(dir.c_str(), 0755) == 0);
  absl::Status attached = AttachDeviceFilter(dir, Rules());
  INFO(attached.ToString());
  REQUIRE(attached.ok());
  std::string scratch = Scratch();
  int bits = Probe(scratch, [dir] {
    int fd = open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    std::string pid = std::to_string(getpid());
    bool joined = fd >= 0 && write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
    if (fd >= 0) close(fd);
    return joined;
  });
  CHECK(bits == (1 | 2));
  CHECK(rmdir(dir.c_str()) == 0);
  RemoveAll(scratch).IgnoreError();
}

}  // namespace
}  // namespace berth::runtime
