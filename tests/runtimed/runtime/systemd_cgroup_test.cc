// The systemd cgroup driver's path and property logic (v1 and v2), and the
// driver against a fake manager over a cgroup tree in a temp directory. The
// real systemd is exercised by tests/e2e/systemd_test.sh.
#include "runtimed/runtime/systemd_cgroup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/fs.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/systemd_paths.h"

namespace berth::runtime {
namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();

const UnitProperty* Find(const std::vector<UnitProperty>& props, const std::string& name) {
  for (const UnitProperty& p : props) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

uint64_t U64(const std::vector<UnitProperty>& props, const std::string& name) {
  const UnitProperty* p = Find(props, name);
  REQUIRE(p != nullptr);
  REQUIRE(std::holds_alternative<uint64_t>(p->value));
  return std::get<uint64_t>(p->value);
}

TEST_CASE("slice:prefix:name names a scope in a slice") {
  absl::StatusOr<SystemdCgroupsPath> path = ParseSystemdCgroupsPath("system.slice:docker:abc");
  REQUIRE(path.ok());
  CHECK(path->slice == "system.slice");
  CHECK(path->unit == "docker-abc.scope");

  path = ParseSystemdCgroupsPath(":berth:abc");
  REQUIRE(path.ok());
  CHECK(path->slice == "system.slice");
  CHECK(path->unit == "berth-abc.scope");

  path = ParseSystemdCgroupsPath("machine.slice::abc");
  REQUIRE(path.ok());
  CHECK(path->unit == "abc.scope");

  CHECK(IsSystemdCgroupsPath("system.slice:berth:abc"));
  CHECK_FALSE(IsSystemdCgroupsPath("/berth/abc"));
  CHECK_FALSE(ParseSystemdCgroupsPath("berth/abc").ok());
  absl::Status bad = ParseSystemdCgroupsPath("berth:p:abc").status();
  CHECK(absl::IsInvalidArgument(bad));
  CHECK(std::string(bad.message()).find("must be a slice name") != std::string::npos);
  CHECK_FALSE(ParseSystemdCgroupsPath("system.slice:p:").ok());
  CHECK_FALSE(ParseSystemdCgroupsPath("system.slice:p:a/b").ok());
  CHECK_FALSE(ParseSystemdCgroupsPath("system.slice:p:x.slice").ok());
}

TEST_CASE("slices nest by their dashes, as systemd lays them out") {
  CHECK(*ExpandSlice("system.slice") == "/system.slice");
  CHECK(*ExpandSlice("a-b-c.slice") == "/a.slice/a-b.slice/a-b-c.slice");
  CHECK(*ExpandSlice("-.slice") == "");
  CHECK_FALSE(ExpandSlice("-a.slice").ok());
  CHECK_FALSE(ExpandSlice("a--b.slice").ok());
  CHECK_FALSE(ExpandSlice("a-.slice").ok());
  CHECK_FALSE(ExpandSlice("a.scope").ok());
}

TEST_CASE("the manager's root comes from its PID 1's cgroup") {
  const std::string hybrid =
      "12:pids:/berth-sd/init.scope\n1:name=systemd:/berth-sd/init.scope\n"
      "0::/berth-sd/init.scope\n";
  CHECK(SystemdRootFromProcCgroup(hybrid, false) == "/berth-sd");
  CHECK(SystemdRootFromProcCgroup("1:name=systemd:/init.scope\n", false) == "");
  CHECK(SystemdRootFromProcCgroup("0::/init.scope\n", true) == "");
  CHECK(SystemdRootFromProcCgroup("0::/lxc/c1\n", true) == "/lxc/c1");
  CHECK(SystemdRootFromProcCgroup("0::/\n", true) == "");

  SystemdCgroupsPath path{"a-b.slice", "berth-x.scope"};
  CHECK(*SystemdScopeRelativePath(path, "") == "a.slice/a-b.slice/berth-x.scope");
  CHECK(*SystemdScopeRelativePath(path, "/berth-sd") == "berth-sd/a.slice/a-b.slice/berth-x.scope");
}

TEST_CASE("v1 limits become v1 properties, as runc sends them") {
  Resources r;
  r.memory_limit = 64 << 20;
  r.cpu_shares = 512;
  r.cpu_quota = 33333;
  r.cpu_period = 100000;
  r.pids_limit = 10;
  r.blkio_weight = 300;
  r.memory_swappiness = 10;  // no property: written to the file
  absl::StatusOr<std::vector<UnitProperty>> props = SystemdResourceProperties(r, false);
  REQUIRE(props.ok());
  CHECK(U64(*props, "MemoryLimit") == 64u << 20);
  CHECK(U64(*props, "CPUShares") == 512);
  CHECK(U64(*props, "BlockIOWeight") == 300);
  CHECK(U64(*props, "TasksMax") == 10);
  CHECK(U64(*props, "CPUQuotaPeriodUSec") == 100000);
  // 333330 us per second, rounded up to systemd's 10 ms steps.
  CHECK(U64(*props, "CPUQuotaPerSecUSec") == 340000);
  CHECK(Find(*props, "MemoryMax") == nullptr);
  CHECK(Find(*props, "CPUWeight") == nullptr);
  CHECK(props->size() == 6);

  Resources unlimited;
  unlimited.memory_limit = -1;
  unlimited.pids_limit = -1;
  unlimited.cpu_quota = -1;
  props = SystemdResourceProperties(unlimited, false);
  REQUIRE(props.ok());
  CHECK(U64(*props, "MemoryLimit") == kInfinity);
  CHECK(U64(*props, "TasksMax") == kInfinity);
  CHECK(U64(*props, "CPUQuotaPerSecUSec") == kInfinity);

  Resources cpus;
  cpus.cpu_quota = 150000;  // --cpus 1.5, default period
  props = SystemdResourceProperties(cpus, false);
  REQUIRE(props.ok());
  CHECK(U64(*props, "CPUQuotaPerSecUSec") == 1500000);
  CHECK(Find(*props, "CPUQuotaPeriodUSec") == nullptr);
  CHECK(SystemdResourceProperties(Resources{}, false)->empty());
}

TEST_CASE("v2 limits become v2 properties") {
  Resources r;
  r.memory_limit = 64 << 20;
  r.memory_swap = 96 << 20;
  r.memory_reservation = 32 << 20;
  r.cpu_shares = 1024;
  r.blkio_weight = 500;
  r.cpu_cpus = "0-2,9";
  r.cpu_mems = "0";
  r.pids_limit = 0;
  absl::StatusOr<std::vector<UnitProperty>> props = SystemdResourceProperties(r, true);
  REQUIRE(props.ok());
  CHECK(U64(*props, "MemoryMax") == 64u << 20);
  CHECK(U64(*props, "MemorySwapMax") == 32u << 20);
  CHECK(U64(*props, "MemoryLow") == 32u << 20);
  CHECK(U64(*props, "CPUWeight") == 39);
  CHECK(U64(*props, "IOWeight") == 1 + 490 * 9999 / 990);
  CHECK(U64(*props, "TasksMax") == kInfinity);
  const UnitProperty* cpus = Find(*props, "AllowedCPUs");
  REQUIRE(cpus != nullptr);
  CHECK(std::get<std::vector<uint8_t>>(cpus->value) == std::vector<uint8_t>{0x07, 0x02});
  CHECK(std::get<std::vector<uint8_t>>(Find(*props, "AllowedMemoryNodes")->value) ==
        std::vector<uint8_t>{0x01});
  CHECK(Find(*props, "MemoryLimit") == nullptr);

  Resources bad_swap;
  bad_swap.memory_limit = 64 << 20;
  bad_swap.memory_swap = 32 << 20;
  CHECK(absl::IsInvalidArgument(SystemdResourceProperties(bad_swap, true).status()));
  Resources bad_cpus;
  bad_cpus.cpu_cpus = "3-1";
  CHECK_FALSE(SystemdResourceProperties(bad_cpus, true).ok());
}

TEST_CASE("the scope is delegated, holds the init and carries the limits") {
  Resources r;
  r.memory_limit = 1 << 20;
  absl::StatusOr<std::vector<UnitProperty>> props =
      SystemdScopeProperties({"system.slice", "berth-x.scope"}, 4242, r, false);
  REQUIRE(props.ok());
  CHECK(std::get<bool>(Find(*props, "Delegate")->value));
  CHECK(std::get<std::string>(Find(*props, "Slice")->value) == "system.slice");
  CHECK(std::get<std::vector<uint32_t>>(Find(*props, "PIDs")->value) ==
        std::vector<uint32_t>{4242});
  CHECK(Find(*props, "BlockIOAccounting") != nullptr);
  CHECK(U64(*props, "MemoryLimit") == 1u << 20);
  props = SystemdScopeProperties({"system.slice", "berth-x.scope"}, 1, r, true);
  REQUIRE(props.ok());
  CHECK(Find(*props, "IOAccounting") != nullptr);
  CHECK(U64(*props, "MemoryMax") == 1u << 20);
}

DeviceRule Rule(bool allow, char type, int64_t major, int64_t minor, std::string access) {
  DeviceRule rule;
  rule.allow = allow;
  rule.type = type;
  rule.major = major;
  rule.minor = minor;
  rule.access = std::move(access);
  return rule;
}

DeviceAllowList AllowList(const std::vector<UnitProperty>& props) {
  const UnitProperty* p = Find(props, "DeviceAllow");
  REQUIRE(p != nullptr);
  REQUIRE(std::holds_alternative<DeviceAllowList>(p->value));
  return std::get<DeviceAllowList>(p->value);
}

std::string Policy(const std::vector<UnitProperty>& props) {
  const UnitProperty* p = Find(props, "DevicePolicy");
  REQUIRE(p != nullptr);
  return std::get<std::string>(p->value);
}

TEST_CASE("device rules become DevicePolicy and DeviceAllow, as runc sends them") {
  DeviceNames names;
  names.nodes = {{"c 1:3", "/dev/null"}, {"c 10:200", "/dev/net/tun"}, {"b 7:0", "/dev/loop0"}};
  names.proc_devices =
      "Character devices:\n  1 mem\n136 pts\n\nBlock devices:\n  7 loop\n136 notpts\n";
  // Docker's shape: deny all, then what the container may use.
  std::vector<DeviceRule> docker = {
      Rule(false, 'a', -1, -1, "rwm"), Rule(true, 'c', -1, -1, "m"),
      Rule(true, 'b', -1, -1, "m"),    Rule(true, 'c', 1, 3, "rwm"),
      Rule(true, 'c', 136, -1, "rwm"), Rule(true, 'c', 10, 200, "rwm"),
      Rule(true, 'c', 5, 2, "rwm"),   // no node here: left out
      Rule(true, 'c', 99, -1, "rw"),  // no /proc/devices name: left out
      Rule(true, 'c', -1, 7, "r"),    // "*:7": systemd cannot say it
      Rule(true, 'a', 7, 0, "r"),     // both types
  };
  std::vector<UnitProperty> props = SystemdDeviceProperties(docker, names);
  CHECK(Policy(props) == "strict");
  CHECK(AllowList(props) == DeviceAllowList{{"char-*", "m"},
                                            {"block-*", "m"},
                                            {"/dev/null", "rwm"},
                                            {"char-pts", "rwm"},
                                            {"/dev/net/tun", "rwm"},
                                            {"/dev/loop0", "r"}});

  // A later deny takes its letters back from an allow.
  props = SystemdDeviceProperties(
      {Rule(false, 'a', -1, -1, "rwm"), Rule(true, 'c', 1, 3, "rwm"), Rule(false, 'c', 1, 3, "w"),
       Rule(true, 'c', 10, 200, "rw"), Rule(false, 'c', 10, 200, "rw")},
      names);
  CHECK(AllowList(props) == DeviceAllowList{{"/dev/null", "rm"}});

  // --privileged: everything, which is systemd's auto policy without entries.
  props = SystemdDeviceProperties({Rule(true, 'a', -1, -1, "rwm")}, names);
  CHECK(Policy(props) == "auto");
  CHECK(AllowList(props).empty());
  // No rule at all leaves a device cgroup open too.
  CHECK(Policy(SystemdDeviceProperties(
            {Rule(false, 'a', -1, -1, "rwm"), Rule(true, 'a', -1, -1, "rwm")}, names)) == "auto");
  // A deny carved out of allow-all cannot be said: no properties.
  CHECK(SystemdDeviceProperties({Rule(true, 'a', -1, -1, "rwm"), Rule(false, 'c', 1, 3, "rwm")},
                                names)
            .empty());

  // The scope carries them only when the container has rules.
  Resources r;
  auto scope = SystemdScopeProperties({"system.slice", "berth-x.scope"}, 1, r, false, names);
  REQUIRE(scope.ok());
  CHECK(Find(*scope, "DevicePolicy") == nullptr);
  r.devices = docker;
  scope = SystemdScopeProperties({"system.slice", "berth-x.scope"}, 1, r, false, names);
  REQUIRE(scope.ok());
  CHECK(Policy(*scope) == "strict");
}

// A cgroup v1 tree in a temp directory: the hierarchies the driver touches,
// and the manager's own cgroup "/sd" as /proc/1/cgroup reports it.
struct FakeHost {
  FakeHost() {
    char tmpl[] = "/tmp/sdcgXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    root = dir + "/cgroup";
    for (const char* h : {"systemd", "memory", "pids"}) {
      REQUIRE(MakeDirs(root + "/" + h + "/sd").ok());
    }
    REQUIRE(MakeDirs(dir + "/proc/1").ok());
    REQUIRE(WriteFileAtomic(dir + "/proc/1/cgroup",
                            "3:pids:/sd/init.scope\n1:name=systemd:/sd/init.scope\n")
                .ok());
  }
  ~FakeHost() { RemoveAll(dir).IgnoreError(); }

  std::string Read(const std::string& path) const {
    absl::StatusOr<std::string> content = ReadFile(root + "/" + path);
    return content.ok() ? std::string(absl::StripTrailingAsciiWhitespace(*content)) : "<none>";
  }

  std::string dir;
  std::string root;
};

// Stands in for systemd: records the calls and, unless told not to, creates
// the scope's directories (with the files berth writes) holding the PID.
struct FakeSystemd {
  struct Call {
    std::string method;
    std::string unit;
    std::vector<UnitProperty> properties;
  };
  std::vector<Call> calls;
  bool moves_pid = true;
  bool reachable = true;
  const FakeHost* host = nullptr;
  const std::string scope = "sd/system.slice/berth-c1.scope";

  void CreateScope(uint32_t pid) {
    for (const char* h : {"systemd", "memory", "pids"}) {
      std::string d = host->root + "/" + h + "/" + scope;
      REQUIRE(MakeDirs(d).ok());
      for (const char* f : {"cgroup.procs", "memory.limit_in_bytes", "pids.max"}) {
        REQUIRE(WriteFileAtomic(d + "/" + f, "").ok());
      }
      REQUIRE(WriteFileAtomic(d + "/cgroup.procs", std::to_string(pid) + "\n").ok());
    }
  }
  void RemoveScope() {
    for (const char* h : {"systemd", "memory", "pids"}) {
      RemoveAll(host->root + "/" + h + "/" + scope).IgnoreError();
    }
  }
};

class FakeBus : public SystemdBus {
 public:
  explicit FakeBus(FakeSystemd* systemd) : systemd_(systemd) {}
  absl::Status StartTransientUnit(const std::string& name,
                                  const std::vector<UnitProperty>& properties) override {
    systemd_->calls.push_back({"StartTransientUnit", name, properties});
    if (systemd_->moves_pid) {
      const UnitProperty* pids = Find(properties, "PIDs");
      REQUIRE(pids != nullptr);
      systemd_->CreateScope(std::get<std::vector<uint32_t>>(pids->value).at(0));
    }
    return absl::OkStatus();
  }
  absl::Status StopUnit(const std::string& name) override {
    systemd_->calls.push_back({"StopUnit", name, {}});
    bool loaded = PathExists(systemd_->host->root + "/systemd/" + systemd_->scope);
    systemd_->RemoveScope();
    return loaded ? absl::OkStatus() : absl::NotFoundError("Unit " + name + " not loaded.");
  }
  absl::Status SetUnitProperties(const std::string& name,
                                 const std::vector<UnitProperty>& properties) override {
    systemd_->calls.push_back({"SetUnitProperties", name, properties});
    return absl::OkStatus();
  }

 private:
  FakeSystemd* systemd_;
};

std::unique_ptr<CgroupManager> Driver(const FakeHost& host, FakeSystemd* systemd) {
  systemd->host = &host;
  SystemdCgroupOptions options;
  options.cgroup_root = host.root;
  options.proc = host.dir + "/proc";
  options.wait_ms = 200;
  options.connect = [systemd]() -> absl::StatusOr<std::unique_ptr<SystemdBus>> {
    if (!systemd->reachable) return absl::UnavailableError("cannot connect to systemd at x");
    return std::make_unique<FakeBus>(systemd);
  };
  absl::StatusOr<std::unique_ptr<CgroupManager>> manager =
      NewSystemdCgroupManager("system.slice:berth:c1", options);
  REQUIRE(manager.ok());
  return std::move(*manager);
}

TEST_CASE("the driver starts the scope with the init, then writes what systemd lacks") {
  FakeHost host;
  FakeSystemd systemd;
  std::unique_ptr<CgroupManager> cgroup = Driver(host, &systemd);
  Resources r;
  r.memory_limit = 8 << 20;
  r.pids_limit = 7;
  REQUIRE(cgroup->Create(r).ok());
  CHECK(systemd.calls.empty());  // the scope needs a PID
  absl::Status added = cgroup->AddProcess(4242);
  INFO(added.ToString());
  REQUIRE(added.ok());
  REQUIRE(systemd.calls.size() == 1);
  CHECK(systemd.calls[0].method == "StartTransientUnit");
  CHECK(systemd.calls[0].unit == "berth-c1.scope");
  CHECK(U64(systemd.calls[0].properties, "MemoryLimit") == 8u << 20);
  CHECK(host.Read("memory/" + systemd.scope + "/memory.limit_in_bytes") == "8388608");
  CHECK(host.Read("pids/" + systemd.scope + "/pids.max") == "7");
  CHECK(host.Read("pids/" + systemd.scope + "/cgroup.procs") == "4242");
  CHECK(cgroup->Paths().size() == 2);

  SECTION("a later process joins the running scope") {
    std::unique_ptr<CgroupManager> exec = Driver(host, &systemd);
    REQUIRE(exec->AddProcess(4343).ok());
    CHECK(systemd.calls.size() == 1);
    CHECK(host.Read("memory/" + systemd.scope + "/cgroup.procs") == "4343");
  }
  SECTION("update goes through SetUnitProperties and the files") {
    std::unique_ptr<CgroupManager> update = Driver(host, &systemd);
    Resources more;
    more.memory_limit = 16 << 20;
    REQUIRE(update->Update(more).ok());
    REQUIRE(systemd.calls.size() == 2);
    CHECK(systemd.calls[1].method == "SetUnitProperties");
    CHECK(U64(systemd.calls[1].properties, "MemoryLimit") == 16u << 20);
    CHECK(host.Read("memory/" + systemd.scope + "/memory.limit_in_bytes") == "16777216");
  }
  SECTION("destroy stops the scope and removes what berth created") {
    REQUIRE(cgroup->Destroy().ok());
    CHECK(systemd.calls.back().method == "StopUnit");
    CHECK_FALSE(PathExists(host.root + "/systemd/" + systemd.scope));
    CHECK_FALSE(PathExists(host.root + "/memory/" + systemd.scope));
    // Again, once systemd collected it: not an error.
    CHECK(Driver(host, &systemd)->Destroy().ok());
  }
}

TEST_CASE("the driver fails clearly when systemd is away or does not take the PID") {
  FakeHost host;
  FakeSystemd systemd;
  SECTION("unreachable") {
    systemd.reachable = false;
    absl::Status status = Driver(host, &systemd)->Create(Resources{});
    CHECK(absl::IsUnavailable(status));
    CHECK(std::string(status.message()).find("cannot connect to systemd") != std::string::npos);
  }
  SECTION("the PID never shows up in the scope") {
    systemd.moves_pid = false;
    std::unique_ptr<CgroupManager> cgroup = Driver(host, &systemd);
    REQUIRE(cgroup->Create(Resources{}).ok());
    absl::Status status = cgroup->AddProcess(4242);
    CHECK(absl::IsDeadlineExceeded(status));
    CHECK(systemd.calls.back().method == "StopUnit");
  }
}

TEST_CASE("readers find the scope's directory without a manager") {
  FakeHost host;
  CHECK(*CgroupRelativePath("/berth/c1", host.root, host.dir + "/proc") == "berth/c1");
  CHECK(*CgroupRelativePath("system.slice:berth:c1", host.root, host.dir + "/proc") ==
        "sd/system.slice/berth-c1.scope");
  CHECK(*CgroupRelativePath("a-b.slice:berth:c1", host.root, host.dir + "/proc") ==
        "sd/a.slice/a-b.slice/berth-c1.scope");
}

}  // namespace
}  // namespace berth::runtime
