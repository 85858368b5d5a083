// Unit tests of the runtime library's pure logic: spec parsing, mount
// options, path resolution, executable lookup.
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "common/fs.h"
#include "common/json.h"
#include "runtimed/runtime/mounts.h"
#include "runtimed/runtime/process.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {
namespace {

constexpr char kMinimal[] = R"({
  "ociVersion": "1.0.2",
  "process": {"args": ["sh"], "cwd": "/", "env": ["PATH=/bin"],
              "user": {"uid": 1000, "gid": 100, "additionalGids": [5, 6], "umask": 18},
              "capabilities": {"bounding": ["CAP_KILL", "CAP_CHOWN"], "effective": ["CAP_KILL"]},
              "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096}],
              "oomScoreAdj": 500, "noNewPrivileges": true},
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "h",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/etc/hosts", "source": "/etc/hosts", "options": ["rbind", "ro"]}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                           {"type": "network", "path": "/var/run/netns/x"}],
            "resources": {"memory": {"limit": 1048576, "swap": -1},
                          "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
                          "pids": {"limit": 20}},
            "cgroupsPath": "berth/abc", "maskedPaths": ["/proc/kcore"],
            "readonlyPaths": ["/proc/sys"], "sysctl": {"net.ipv4.ip_forward": "1"},
            "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}},
  "annotations": {"x": "y"}
})";

absl::Status ParseWith(const std::string& pointer, const Json& value) {
  Json config = Json::parse(kMinimal);
  config[Json::json_pointer(pointer)] = value;
  return ParseSpec(config.dump()).status();
}

TEST_CASE("ParseSpec reads the fields the runtime implements") {
  absl::StatusOr<Spec> spec = ParseSpec(kMinimal);
  REQUIRE(spec.ok());
  CHECK(spec->process.args == std::vector<std::string>{"sh"});
  CHECK(spec->process.user.uid == 1000);
  CHECK(spec->process.user.gid == 100);
  CHECK(spec->process.user.additional_gids == std::vector<gid_t>{5, 6});
  CHECK(spec->process.user.umask == 022);
  REQUIRE(spec->process.capabilities.has_value());
  CHECK(spec->process.capabilities->bounding.size() == 2);
  CHECK(spec->process.capabilities->effective == std::vector<int>{CapabilityFromName("CAP_KILL")});
  REQUIRE(spec->process.rlimits.size() == 1);
  CHECK(spec->process.rlimits[0].resource == RLIMIT_NOFILE);
  CHECK(spec->process.rlimits[0].hard == 4096);
  CHECK(spec->process.oom_score_adj == 500);
  CHECK(spec->process.no_new_privileges);
  CHECK(spec->root_path == "rootfs");
  CHECK(spec->root_readonly);
  CHECK(spec->mounts.size() == 2);
  REQUIRE(spec->FindNamespace("network") != nullptr);
  CHECK(spec->FindNamespace("network")->path == "/var/run/netns/x");
  CHECK(spec->FindNamespace("ipc") == nullptr);
  CHECK(spec->resources.memory_limit == 1048576);
  CHECK(spec->resources.memory_swap == -1);
  CHECK(spec->resources.cpu_shares == 512u);
  CHECK(spec->resources.cpu_quota == 50000);
  CHECK(spec->resources.cpu_cpus == "0");
  CHECK(spec->resources.pids_limit == 20);
  CHECK(spec->cgroups_path == "berth/abc");
  CHECK(spec->sysctl.at("net.ipv4.ip_forward") == "1");
}

TEST_CASE("ParseSpec errors name the field") {
  auto message = [](const absl::Status& status) { return std::string(status.message()); };
  CHECK(message(ParseWith("/process/args", Json::array())) ==
        "invalid config.json: process.args: must not be empty");
  CHECK(message(ParseWith("/process/args/0", 5)) ==
        "invalid config.json: process.args[0]: must be a string");
  CHECK(message(ParseWith("/process/cwd", "rel")) ==
        "invalid config.json: process.cwd: must be an absolute path");
  CHECK(message(ParseWith("/process/capabilities/bounding/0", "CAP_NOPE")) ==
        "invalid config.json: process.capabilities.bounding: unknown capability \"CAP_NOPE\"");
  CHECK(message(ParseWith("/process/rlimits/0/type", "RLIMIT_X")) ==
        "invalid config.json: process.rlimits[0].type: unknown rlimit \"RLIMIT_X\"");
  CHECK(message(ParseWith("/process/rlimits/0/soft", 9999)) ==
        "invalid config.json: process.rlimits[0]: soft limit exceeds the hard limit");
  CHECK(message(ParseWith("/linux/namespaces/0/type", "bogus")) ==
        "invalid config.json: linux.namespaces[0].type: unknown namespace \"bogus\"");
  CHECK(message(ParseWith("/linux/resources/memory/limit", "big")) ==
        "invalid config.json: linux.resources.memory.limit: must be an integer");
  CHECK(message(ParseWith("/mounts/0/destination", "proc")) ==
        "invalid config.json: mounts[0].destination: must be an absolute path");
  CHECK(message(ParseWith("/linux/cgroupsPath", "../escape")) ==
        "invalid config.json: linux.cgroupsPath: must not contain \"..\"");
  CHECK(absl::IsInvalidArgument(ParseSpec("{not json").status()));
  CHECK(absl::IsInvalidArgument(ParseWith("/root", nullptr)));
}

TEST_CASE("ParseSpec reads user namespace mappings and checks them against the namespaces") {
  Json config = Json::parse(kMinimal);
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 10}},
                                    {{"containerID", 10}, {"hostID", 300000}, {"size", 1}}};
  absl::StatusOr<Spec> spec = ParseSpec(config.dump());
  REQUIRE(spec.ok());
  REQUIRE(spec->uid_mappings.size() == 1);
  CHECK(spec->uid_mappings[0].host_id == 100000);
  CHECK(spec->uid_mappings[0].size == 65536);
  REQUIRE(spec->gid_mappings.size() == 2);
  CHECK(spec->gid_mappings[1].container_id == 10);
  CHECK(spec->gid_mappings[1].host_id == 300000);

  auto message = [&](Json changed) {
    return std::string(ParseSpec(changed.dump()).status().message());
  };
  Json no_maps = config;
  no_maps["linux"].erase("gidMappings");
  CHECK(message(no_maps) ==
        "invalid config.json: linux.namespaces: a new user namespace needs linux.uidMappings "
        "and linux.gidMappings");
  Json no_user = Json::parse(kMinimal);
  no_user["linux"]["uidMappings"] = config["linux"]["uidMappings"];
  CHECK(message(no_user) ==
        "invalid config.json: linux.uidMappings: user namespaces not enabled in config");
  Json joined = config;
  joined["linux"]["namespaces"].back()["path"] = "/proc/1/ns/user";
  CHECK(message(joined) ==
        "invalid config.json: linux.uidMappings: a user namespace joined by path keeps its own "
        "mappings");
  joined["linux"].erase("uidMappings");
  joined["linux"].erase("gidMappings");
  CHECK(ParseSpec(joined.dump()).ok());
  Json zero = config;
  zero["linux"]["uidMappings"][0]["size"] = 0;
  CHECK(message(zero) ==
        "invalid config.json: linux.uidMappings[0].size: must be greater than zero");
  Json missing = config;
  missing["linux"]["uidMappings"][0].erase("hostID");
  CHECK(message(missing) ==
        "invalid config.json: linux.uidMappings[0]: containerID, hostID and size are required");
}

TEST_CASE("ParseSpec reads time offsets only for a new time namespace") {
  Json config = Json::parse(kMinimal);
  config["linux"]["namespaces"].push_back({{"type", "time"}});
  config["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 86400}, {"nanosecs", 5}}},
                                    {"boottime", {{"secs", -7}}}};
  absl::StatusOr<Spec> spec = ParseSpec(config.dump());
  REQUIRE(spec.ok());
  REQUIRE(spec->time_offsets.size() == 2);
  CHECK(spec->time_offsets["monotonic"].secs == 86400);
  CHECK(spec->time_offsets["monotonic"].nanosecs == 5);
  CHECK(spec->time_offsets["boottime"].secs == -7);
  CHECK(spec->FindNamespace("time") != nullptr);

  auto message = [&](Json changed) {
    return std::string(ParseSpec(changed.dump()).status().message());
  };
  Json no_ns = Json::parse(kMinimal);
  no_ns["linux"]["timeOffsets"] = config["linux"]["timeOffsets"];
  CHECK(message(no_ns) ==
        "invalid config.json: linux.timeOffsets: time namespace not enabled in config");
  Json joined = config;
  joined["linux"]["namespaces"].back()["path"] = "/proc/1/ns/time";
  CHECK(message(joined) ==
        "invalid config.json: linux.timeOffsets: a time namespace joined by path keeps its own "
        "offsets");
  joined["linux"].erase("timeOffsets");
  CHECK(ParseSpec(joined.dump()).ok());
  Json clock = config;
  clock["linux"]["timeOffsets"]["realtime"] = {{"secs", 1}};
  CHECK(message(clock) ==
        "invalid config.json: linux.timeOffsets.realtime: unknown clock (monotonic or boottime)");
  Json nanos = config;
  nanos["linux"]["timeOffsets"]["boottime"]["nanosecs"] = 1000000000;
  CHECK(message(nanos) ==
        "invalid config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000");
  Json secs = config;
  secs["linux"]["timeOffsets"]["boottime"]["secs"] = "1";
  CHECK(message(secs) ==
        "invalid config.json: linux.timeOffsets.boottime.secs: must be an integer");
}

TEST_CASE("ParseSpec: idmapped mounts take their own mapping or the container's") {
  Json config = Json::parse(kMinimal);
  config["mounts"][1]["options"] = {"rbind", "idmap"};
  CHECK(std::string(ParseSpec(config.dump()).status().message()) ==
        "invalid config.json: mounts[1]: idmap needs uidMappings and gidMappings, or the "
        "container's own");
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 10}}};
  config["linux"]["gidMappings"] = config["linux"]["uidMappings"];
  absl::StatusOr<Spec> spec = ParseSpec(config.dump());
  REQUIRE(spec.ok());
  CHECK(spec->mounts[1].idmap);
  CHECK_FALSE(spec->mounts[1].recursive_idmap);
  REQUIRE(spec->mounts[1].uid_mappings.size() == 1);
  CHECK(spec->mounts[1].uid_mappings[0].host_id == 1000);
  CHECK(ParseMountOptions(spec->mounts[1].options).data.empty());

  config["mounts"][1]["options"] = {"rbind", "ridmap"};
  config["mounts"][1]["uidMappings"] = {{{"containerID", 0}, {"hostID", 5000}, {"size", 1}}};
  config["mounts"][1]["gidMappings"] = config["mounts"][1]["uidMappings"];
  spec = ParseSpec(config.dump());
  REQUIRE(spec.ok());
  CHECK(spec->mounts[1].recursive_idmap);
  CHECK(spec->mounts[1].uid_mappings[0].host_id == 5000);

  config["mounts"][0]["options"] = {"idmap"};
  CHECK(std::string(ParseSpec(config.dump()).status().message()) ==
        "invalid config.json: mounts[0].options: idmapped mounts are supported for binds only");
}

TEST_CASE("ParseMountOptions splits flags, propagation and data") {
  MountFlags flags = ParseMountOptions(
      {"rbind", "ro", "nosuid", "noexec", "nodev", "rprivate", "size=65536k", "mode=755"});
  CHECK(flags.flags == (MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV));
  CHECK(flags.propagation == (MS_PRIVATE | MS_REC));
  CHECK(flags.data == "size=65536k,mode=755");
  flags = ParseMountOptions({"ro", "rw", "slave"});
  CHECK((flags.flags & MS_RDONLY) == 0);
  CHECK(flags.propagation == MS_SLAVE);
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/rtXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { RemoveAll(path).IgnoreError(); }
  std::string path;
};

TEST_CASE("SecureJoin keeps symlinks inside the root") {
  TempDir root;
  REQUIRE(MakeDirs(root.path + "/real/dir").ok());
  REQUIRE(symlink("/real", (root.path + "/abs").c_str()) == 0);
  REQUIRE(symlink("../../../..", (root.path + "/real/up").c_str()) == 0);
  CHECK(*SecureJoin(root.path, "/abs/dir") == root.path + "/real/dir");
  CHECK(*SecureJoin(root.path, "/real/up/etc") == root.path + "/etc");
  CHECK(*SecureJoin(root.path, "/../../etc/passwd") == root.path + "/etc/passwd");
  CHECK(*SecureJoin(root.path, "/new/path") == root.path + "/new/path");
  REQUIRE(symlink("loop", (root.path + "/loop").c_str()) == 0);
  CHECK(absl::IsInvalidArgument(SecureJoin(root.path, "/loop").status()));
}

TEST_CASE("LookPath resolves through PATH with Go's and Docker's errors") {
  TempDir dir;
  std::string exe = dir.path + "/tool";
  std::ofstream(exe) << "#!/bin/sh\n";
  chmod(exe.c_str(), 0755);
  std::string plain = dir.path + "/plain";
  std::ofstream(plain) << "data";
  chmod(plain.c_str(), 0644);
  std::vector<std::string> env = {"PATH=/nonexistent:" + dir.path};
  CHECK(*LookPath("tool", env) == exe);
  absl::StatusOr<std::string> missing = LookPath("nope", env);
  CHECK(absl::IsNotFound(missing.status()));
  CHECK(missing.status().message() == "exec: \"nope\": executable file not found in $PATH");
  // Not executable: skipped in a PATH search, as Go does.
  CHECK(absl::IsNotFound(LookPath("plain", env).status()));
  absl::StatusOr<std::string> denied = LookPath(plain, env);
  CHECK(absl::IsPermissionDenied(denied.status()));
  CHECK(denied.status().message() == "exec: \"" + plain + "\": permission denied");
  absl::StatusOr<std::string> absent = LookPath(dir.path + "/gone", env);
  CHECK(absl::IsNotFound(absent.status()));
  CHECK(absent.status().message() ==
        "exec: \"" + dir.path + "/gone\": stat " + dir.path + "/gone: no such file or directory");
  CHECK(absl::IsPermissionDenied(LookPath(dir.path, env).status()));
}

}  // namespace
}  // namespace berth::runtime
