#include "runtimed/daemon/spec_builder.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>

#include "common/fs.h"
#include "runtimed/daemon/container_config.h"
#include "runtimed/daemon/namespace_modes.h"
#include "runtimed/daemon/rootfs.h"
#include "runtimed/daemon/user.h"
#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

const std::string kId(64, 'a');

CreateConfig Merge(const std::string& user, const std::string& host, const std::string& image) {
  auto result = MergeCreateConfig(Json::parse(user), Json::parse(host), Json::parse(image), kId);
  REQUIRE(result.ok());
  return *result;
}

std::vector<std::string> Argv(const CreateConfig& c) {
  std::vector<std::string> argv = {c.path};
  argv.insert(argv.end(), c.args.begin(), c.args.end());
  return argv;
}

const Json* FindMount(const Json& spec, const std::string& destination) {
  for (const Json& m : spec["mounts"]) {
    if (m["destination"] == destination) return &m;
  }
  return nullptr;
}

bool HasNamespace(const Json& spec, const std::string& type) {
  for (const Json& ns : spec["linux"]["namespaces"]) {
    if (ns["type"] == type) return true;
  }
  return false;
}

// The spec of a `true` container with this HostConfig, other inputs fixed.
absl::StatusOr<Json> BuildFor(const std::string& host) {
  CreateConfig c = Merge(R"({"Cmd":["true"]})", host, "{}");
  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.rootfs = "/rootfs";
  return BuildOciSpec(in);
}

}  // namespace

TEST_CASE("Entrypoint and Cmd merge as Docker does", "[config]") {
  const std::string image = R"({"Entrypoint":["/entry"],"Cmd":["img-cmd"]})";
  // No user command: the image's entrypoint and cmd.
  CHECK(Argv(Merge("{}", "{}", image)) == std::vector<std::string>{"/entry", "img-cmd"});
  // A user Cmd replaces the image's Cmd under the image's entrypoint.
  CHECK(Argv(Merge(R"({"Cmd":["x","y"]})", "{}", image)) ==
        std::vector<std::string>{"/entry", "x", "y"});
  // A user entrypoint drops the image's Cmd...
  CHECK(Argv(Merge(R"({"Entrypoint":["sh"]})", "{}", image)) == std::vector<std::string>{"sh"});
  // ...unless the user also gave one.
  CHECK(Argv(Merge(R"({"Entrypoint":["sh"],"Cmd":["-c","true"]})", "{}", image)) ==
        std::vector<std::string>{"sh", "-c", "true"});
  // `--entrypoint ""` with a command runs the command alone.
  CHECK(Argv(Merge(R"({"Entrypoint":[""],"Cmd":["ls"]})", "{}", image)) ==
        std::vector<std::string>{"ls"});
  // A string Cmd (old clients) is one argument.
  CHECK(Argv(Merge(R"({"Cmd":"ls"})", "{}", "{}")) == std::vector<std::string>{"ls"});
  // Null entrypoint from the client counts as absent.
  CHECK(Argv(Merge(R"({"Entrypoint":null,"Cmd":null})", "{}", image)) ==
        std::vector<std::string>{"/entry", "img-cmd"});

  for (const char* user : {R"({})", R"({"Entrypoint":[""]})", R"({"Entrypoint":[]})"}) {
    auto result = MergeCreateConfig(Json::parse(user), Json(), Json(), kId);
    REQUIRE_FALSE(result.ok());
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(result.status().message() == "No command specified");
  }
  auto no_cmd =
      MergeCreateConfig(Json::parse(R"({"Entrypoint":[]})"), Json(), Json::parse(image), kId);
  CHECK(no_cmd.status().message() == "No command specified");
}

TEST_CASE("Env, labels, user, workdir and defaults merge with the image", "[config]") {
  const std::string image = R"({"Env":["PATH=/img/bin","A=1","B=2"],"Cmd":["sh"],
      "Labels":{"from":"image","both":"image"},"User":"nobody","WorkingDir":"/srv",
      "StopSignal":"SIGQUIT","ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}}})";
  CreateConfig c = Merge(
      R"({"Env":["B=3","C=4"],"Labels":{"both":"user","com.docker.compose.project":"spy"},
          "Image":"busybox","ExposedPorts":{"443/tcp":{}},"CustomField":{"kept":true}})",
      R"({"Memory":1048576,"LogConfig":{"Type":"","Config":null}})", image);
  CHECK(StringList(c.config["Env"]) ==
        std::vector<std::string>{"PATH=/img/bin", "A=1", "B=3", "C=4"});
  CHECK(c.config["Labels"] == Json::parse(R"({"from":"image","both":"user",
      "com.docker.compose.project":"spy"})"));
  CHECK(c.config["User"] == "nobody");
  CHECK(c.config["WorkingDir"] == "/srv");
  CHECK(c.config["StopSignal"] == "SIGQUIT");
  CHECK(c.config["ExposedPorts"].size() == 2);
  CHECK(c.config["Volumes"].contains("/data"));
  CHECK(c.config["Hostname"] == kId.substr(0, 12));
  CHECK(c.config["Image"] == "busybox");
  CHECK(c.config["CustomField"]["kept"] == true);
  CHECK(c.host_config["NetworkMode"] == "default");
  CHECK(c.host_config["RestartPolicy"]["Name"] == "no");
  CHECK(c.host_config["LogConfig"] == Json::parse(R"({"Type":"json-file","Config":{}})"));
  CHECK(c.host_config["ShmSize"] == kDefaultShmSize);
  CHECK(c.host_config["MemorySwap"] == 2097152);

  // The process environment: PATH default only when missing, HOSTNAME, TERM.
  Json config = {{"Hostname", "h1"}, {"Tty", true}, {"Env", {"FOO=bar", "HOSTNAME=mine"}}};
  CHECK(ProcessEnv(config) == std::vector<std::string>{std::string("PATH=") + kDefaultPath,
                                                       "HOSTNAME=mine", "TERM=xterm", "FOO=bar"});
  config = {{"Hostname", "h1"}, {"Env", {"PATH=/x"}}};
  CHECK(ProcessEnv(config) == std::vector<std::string>{"PATH=/x", "HOSTNAME=h1"});

  auto conflict = MergeCreateConfig(
      Json::parse(R"({"Cmd":["x"]})"),
      Json::parse(R"({"AutoRemove":true,"RestartPolicy":{"Name":"always"}})"), Json(), kId);
  CHECK(conflict.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("users resolve through passwd and group", "[user]") {
  const std::string passwd =
      "root:x:0:0:root:/root:/bin/sh\n"
      "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
      "app:x:1000:1000:App:/home/app:/bin/sh\n";
  const std::string group =
      "root:x:0:\n"
      "wheel:x:10:root,app\n"
      "app:x:1000:\n"
      "docker:x:999:app\n";
  auto root = ResolveUser("", passwd, group);
  REQUIRE(root.ok());
  CHECK(root->uid == 0);
  CHECK(root->gid == 0);
  CHECK(root->home == "/root");
  CHECK(root->additional_gids == std::vector<uint32_t>{10});

  auto app = ResolveUser("app", passwd, group);
  REQUIRE(app.ok());
  CHECK(app->uid == 1000);
  CHECK(app->gid == 1000);
  CHECK(app->additional_gids == std::vector<uint32_t>{10, 999});
  CHECK(app->home == "/home/app");

  auto by_uid = ResolveUser("1000", passwd, group);
  REQUIRE(by_uid.ok());
  CHECK(by_uid->gid == 1000);
  // An explicit group replaces membership lookups.
  auto explicit_group = ResolveUser("app:docker", passwd, group);
  REQUIRE(explicit_group.ok());
  CHECK(explicit_group->gid == 999);
  CHECK(explicit_group->additional_gids.empty());
  auto numeric = ResolveUser("4242:4343", passwd, group);
  REQUIRE(numeric.ok());
  CHECK(numeric->uid == 4242);
  CHECK(numeric->gid == 4343);
  CHECK(numeric->home == "/");
  // A numeric uid works without any passwd file.
  CHECK(ResolveUser("5", std::nullopt, std::nullopt)->uid == 5);
  auto extra = ResolveUser("daemon", passwd, group, {"docker", "77"});
  REQUIRE(extra.ok());
  CHECK(extra->additional_gids == std::vector<uint32_t>{999, 77});

  auto unknown = ResolveUser("nosuch", passwd, group);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.status().message() ==
        "unable to find user nosuch: no matching entries in passwd file");
  CHECK(ResolveUser("nosuch", std::nullopt, std::nullopt).status().message() ==
        "unable to find user nosuch: no matching entries in passwd file");
  CHECK(ResolveUser("app:nogroup", passwd, group).status().message() ==
        "unable to find group nogroup: no matching entries in group file");
}

TEST_CASE("rootfs access stays inside the root", "[rootfs]") {
  testing::TempDir dir;
  const std::string root = dir.path() + "/root";
  REQUIRE(MakeDirs(root + "/etc").ok());
  REQUIRE(WriteFileAtomic(dir.path() + "/outside", "host secret").ok());
  REQUIRE(WriteFileAtomic(root + "/etc/group", "g:x:1:\n").ok());
  // An absolute symlink in the image points into the image, not the host.
  REQUIRE(symlink((dir.path() + "/outside").c_str(), (root + "/etc/passwd").c_str()) == 0);
  auto passwd = ReadFileInRoot(root, "/etc/passwd");
  REQUIRE(passwd.ok());
  CHECK_FALSE(passwd->has_value());
  CHECK(**ReadFileInRoot(root, "/etc/group") == "g:x:1:\n");
  CHECK_FALSE(ReadFileInRoot(root, "/nope/file")->has_value());

  REQUIRE(symlink("/", (root + "/escape").c_str()) == 0);
  REQUIRE(MakeDirsInRoot(root, "/escape/work/dir").ok());
  struct stat st;
  CHECK(stat((root + "/work/dir").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK_FALSE(PathExists("/escape"));
  CHECK(MakeDirsInRoot(root, "/work/dir").ok());
}

TEST_CASE("the OCI spec has Docker's defaults", "[spec]") {
  CreateConfig c = Merge(R"({"Cmd":["sh","-c","echo hi"],"Tty":true,"WorkingDir":"/w"})",
                         R"({"ShmSize":1048576})", "{}");
  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.env = ProcessEnv(c.config);
  in.user.uid = 1000;
  in.user.gid = 1000;
  in.user.additional_gids = {10};
  in.user.home = "/home/app";
  in.rootfs = "/rootfs";
  in.netns_path = "/run/netns/x";
  in.hostname_path = "/s/hostname";
  in.hosts_path = "/s/hosts";
  in.resolv_conf_path = "/s/resolv.conf";
  auto built = BuildOciSpec(in);
  REQUIRE(built.ok());
  const Json& spec = *built;
  CHECK(spec["process"]["args"] == Json::array({"sh", "-c", "echo hi"}));
  CHECK(spec["process"]["terminal"] == true);
  CHECK(spec["process"]["cwd"] == "/w");
  CHECK(spec["process"]["user"] == Json::parse(R"({"uid":1000,"gid":1000,"additionalGids":[10]})"));
  const std::vector<std::string> env = spec["process"]["env"];
  CHECK(std::find(env.begin(), env.end(), "HOME=/home/app") != env.end());
  CHECK(std::find(env.begin(), env.end(), "TERM=xterm") != env.end());
  CHECK(spec["process"].count("rlimits") == 0);
  const std::vector<std::string> caps = spec["process"]["capabilities"]["bounding"];
  CHECK(caps.size() == 14);
  CHECK(caps == DefaultCapabilities());
  CHECK(spec["process"]["capabilities"]["effective"] ==
        spec["process"]["capabilities"]["bounding"]);
  CHECK(spec["root"] == Json::parse(R"({"path":"/rootfs","readonly":false})"));
  CHECK(spec["hostname"] == kId.substr(0, 12));

  REQUIRE(FindMount(spec, "/proc") != nullptr);
  CHECK((*FindMount(spec, "/dev"))["options"] ==
        Json::array({"nosuid", "strictatime", "mode=755", "size=65536k"}));
  CHECK((*FindMount(spec, "/dev/pts"))["options"] ==
        Json::array({"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  const std::vector<std::string> sys = (*FindMount(spec, "/sys"))["options"];
  CHECK(std::find(sys.begin(), sys.end(), "ro") != sys.end());
  CHECK((*FindMount(spec, "/sys/fs/cgroup"))["type"] == "cgroup");
  CHECK(FindMount(spec, "/dev/mqueue") != nullptr);
  const std::vector<std::string> shm = (*FindMount(spec, "/dev/shm"))["options"];
  CHECK(std::find(shm.begin(), shm.end(), "size=1048576") != shm.end());
  CHECK((*FindMount(spec, "/etc/hosts"))["source"] == "/s/hosts");
  CHECK((*FindMount(spec, "/etc/hostname"))["type"] == "bind");
  CHECK((*FindMount(spec, "/etc/resolv.conf"))["source"] == "/s/resolv.conf");

  const std::vector<std::string> masked = spec["linux"]["maskedPaths"];
  CHECK(std::find(masked.begin(), masked.end(), "/proc/kcore") != masked.end());
  CHECK(std::find(masked.begin(), masked.end(), "/sys/firmware") != masked.end());
  const std::vector<std::string> readonly = spec["linux"]["readonlyPaths"];
  CHECK(std::find(readonly.begin(), readonly.end(), "/proc/sys") != readonly.end());
  for (const char* ns : {"pid", "ipc", "uts", "mount", "network"}) CHECK(HasNamespace(spec, ns));
  CHECK_FALSE(HasNamespace(spec, "cgroup"));
  for (const Json& ns : spec["linux"]["namespaces"]) {
    if (ns["type"] == "network") CHECK(ns["path"] == "/run/netns/x");
  }
  CHECK(spec["linux"]["cgroupsPath"] == "/berth/" + kId);
  CHECK(spec["linux"]["resources"].count("memory") == 0);

  // Host network: no network namespace; cgroup v2: a cgroup namespace.
  in.netns_path = "";
  in.cgroup_v2 = true;
  in.cgroup_parent = "/test-parent/";
  built = BuildOciSpec(in);
  REQUIRE(built.ok());
  CHECK_FALSE(HasNamespace(*built, "network"));
  CHECK(HasNamespace(*built, "cgroup"));
  CHECK((*built)["linux"]["cgroupsPath"] == "/test-parent/" + kId);
}

TEST_CASE("--cgroupns: Docker's default per cgroup version, private or host on request", "[spec]") {
  Json host = Json::object();
  REQUIRE(ResolveNamespaceModes(/*cgroup_v2=*/false, &host).ok());
  CHECK(host["CgroupnsMode"] == "host");
  CHECK_FALSE(PrivateCgroupNamespace(host, false));
  host = Json::object();
  REQUIRE(ResolveNamespaceModes(/*cgroup_v2=*/true, &host).ok());
  CHECK(host["CgroupnsMode"] == "private");
  CHECK(PrivateCgroupNamespace(host, true));

  host = Json::parse(R"({"CgroupnsMode":"private","UsernsMode":"host"})");
  REQUIRE(ResolveNamespaceModes(false, &host).ok());
  CHECK(PrivateCgroupNamespace(host, false));
  host = Json::parse(R"({"CgroupnsMode":"host"})");
  REQUIRE(ResolveNamespaceModes(true, &host).ok());
  CHECK_FALSE(PrivateCgroupNamespace(host, true));

  host = Json::parse(R"({"CgroupnsMode":"shared"})");
  CHECK(ResolveNamespaceModes(true, &host).message() == "invalid cgroup namespace mode: shared");
  host = Json::parse(R"({"UsernsMode":"private"})");
  CHECK(ResolveNamespaceModes(true, &host).message() == "invalid userns mode: private");

  CreateConfig c = Merge(R"({"Cmd":["x"]})", R"({"CgroupnsMode":"private"})", "{}");
  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.rootfs = "/rootfs";
  in.netns_path = "/run/netns/x";
  in.hostname_path = "/s/hostname";
  in.hosts_path = "/s/hosts";
  in.resolv_conf_path = "/s/resolv.conf";
  auto built = BuildOciSpec(in);
  REQUIRE(built.ok());
  CHECK(HasNamespace(*built, "cgroup"));
}

TEST_CASE("resources, capabilities and mounts come from HostConfig", "[spec]") {
  CreateConfig c =
      Merge(R"({"Cmd":["x"]})",
            R"({"Memory":67108864,"MemorySwap":134217728,"NanoCpus":1500000000,"CpuShares":512,
          "PidsLimit":100,"ReadonlyRootfs":true,"CapAdd":["SYS_ADMIN"],"CapDrop":["chown"],
          "Binds":["/host/data:/data:ro","/host/x:/x"],"Tmpfs":{"/run":"size=1m"},
          "Ulimits":[{"Name":"nofile","Soft":1024,"Hard":2048}],"CgroupParent":"custom"})",
            "{}");
  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.rootfs = "/r";
  auto mounts = ParseMountPoints(in.config, in.host_config, kId);
  REQUIRE(mounts.ok());
  in.mounts = *mounts;
  auto built = BuildOciSpec(in);
  REQUIRE(built.ok());
  const Json& r = (*built)["linux"]["resources"];
  CHECK(r["memory"]["limit"] == 67108864);
  CHECK(r["memory"]["swap"] == 134217728);
  CHECK(r["cpu"]["quota"] == 150000);
  CHECK(r["cpu"]["period"] == 100000);
  CHECK(r["cpu"]["shares"] == 512);
  CHECK(r["pids"]["limit"] == 100);
  CHECK(r["devices"][0] == Json::parse(R"({"allow":false,"access":"rwm"})"));
  CHECK((*built)["root"]["readonly"] == true);
  CHECK((*built)["linux"]["cgroupsPath"] == "/custom/" + kId);
  const std::vector<std::string> caps = (*built)["process"]["capabilities"]["bounding"];
  CHECK(std::find(caps.begin(), caps.end(), "CAP_SYS_ADMIN") != caps.end());
  CHECK(std::find(caps.begin(), caps.end(), "CAP_CHOWN") == caps.end());
  CHECK((*built)["process"]["rlimits"][0] ==
        Json::parse(R"({"type":"RLIMIT_NOFILE","soft":1024,"hard":2048})"));
  const Json* data = FindMount(*built, "/data");
  REQUIRE(data != nullptr);
  CHECK((*data)["source"] == "/host/data");
  CHECK((*data)["options"] == Json::array({"rbind", "ro", "rprivate"}));
  CHECK((*FindMount(*built, "/x"))["options"] == Json::array({"rbind", "rw", "rprivate"}));
  CHECK((*FindMount(*built, "/run"))["type"] == "tmpfs");

  // CpuQuota / CpuPeriod when NanoCpus is not set.
  in.host_config = Json::parse(R"({"CpuQuota":50000,"CpuPeriod":200000})");
  built = BuildOciSpec(in);
  CHECK((*built)["linux"]["resources"]["cpu"] == Json::parse(R"({"quota":50000,"period":200000})"));

  in.host_config = Json::parse(R"({"CapAdd":["NOT_A_CAP"]})");
  CHECK(BuildOciSpec(in).status().code() == absl::StatusCode::kInvalidArgument);
  // A volume whose host path was not resolved is a bug in the caller.
  in.host_config = Json::object();
  in.mounts = *ParseMountPoints(in.config, Json::parse(R"({"Binds":["named:/data"]})"), kId);
  CHECK(BuildOciSpec(in).status().code() == absl::StatusCode::kInternal);
  in.mounts.clear();
  in.host_config = Json::object();
  in.config["WorkingDir"] = "relative";
  CHECK_FALSE(BuildOciSpec(in).ok());
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("binds, volumes and tmpfs mounts become bind mounts in the spec", "[spec]") {
  CreateConfig c = Merge(R"({"Cmd":["x"],"Volumes":{"/anon":{},"/data":{}}})",
                         R"({"Binds":["v1:/data:ro","/host/logs:/logs:rshared"],
                 "Mounts":[{"Type":"tmpfs","Target":"/scratch","TmpfsOptions":{"SizeBytes":1048576,"Mode":448}},
                           {"Type":"volume","Target":"/cache"},
                           {"Type":"bind","Source":"/srv","Target":"/data/srv","ReadOnly":true}]})",
                         "{}");
  auto mounts = ParseMountPoints(c.config, c.host_config, kId);
  REQUIRE(mounts.ok());
  // Config.Volumes' /data is covered by the named volume; /anon is anonymous.
  REQUIRE(mounts->size() == 6);
  std::map<std::string, MountPoint> by_dest;
  for (const MountPoint& m : *mounts) by_dest[m.destination] = m;
  CHECK(by_dest["/data"].type == "volume");
  CHECK(by_dest["/data"].name == "v1");
  CHECK_FALSE(by_dest["/data"].read_write);
  CHECK(by_dest["/anon"].anonymous);
  CHECK(by_dest["/anon"].name == AnonymousVolumeName(kId, "/anon"));
  CHECK(by_dest["/anon"].name.size() == 64);
  CHECK(by_dest["/cache"].anonymous);
  CHECK(by_dest["/logs"].create_source);
  CHECK_FALSE(by_dest["/data/srv"].create_source);
  // Parents are mounted before what is beneath them.
  CHECK(mounts->back().destination == "/data/srv");

  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.rootfs = "/r";
  for (MountPoint m : *mounts) {
    if (m.type == "volume") m.source = "/v/" + m.name + "/_data";
    in.mounts.push_back(m);
  }
  auto built = BuildOciSpec(in);
  REQUIRE(built.ok());
  CHECK((*FindMount(*built, "/data"))["source"] == "/v/v1/_data");
  CHECK((*FindMount(*built, "/data"))["options"] == Json::array({"rbind", "ro", "rprivate"}));
  CHECK((*FindMount(*built, "/logs"))["options"] == Json::array({"rbind", "rw", "rshared"}));
  CHECK((*FindMount(*built, "/data/srv"))["options"] == Json::array({"rbind", "ro", "rprivate"}));
  const Json& scratch = *FindMount(*built, "/scratch");
  CHECK(scratch["type"] == "tmpfs");
  CHECK(scratch["options"] ==
        Json::array({"nosuid", "nodev", "noexec", "size=1048576", "mode=700"}));
}

TEST_CASE("bad mount specifications are refused in Docker's words", "[spec]") {
  auto parse = [](const char* host) {
    return ParseMountPoints(Json::object(), Json::parse(host), kId).status();
  };
  CHECK(parse(R"({"Binds":["/a:/x","b1:/x"]})").message() == "Duplicate mount point: /x");
  CHECK(parse(R"({"Binds":["a/b:/x"]})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Binds":["/a:relative"]})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Binds":["/a:/x:bogus"]})").message() == "invalid mode: bogus");
  CHECK(parse(R"({"Binds":["/a"]})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Mounts":[{"Type":"nfs","Target":"/x"}]})").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Mounts":[{"Type":"bind","Target":"/x"}]})").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Binds":["/a:/"]})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(parse(R"({"Binds":["/a:/x:ro,z"]})").ok());
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("SecurityOpt sets no_new_privs and the seccomp profile", "[spec]") {
  auto plain = BuildFor("{}");
  REQUIRE(plain.ok());
  CHECK((*plain)["process"]["noNewPrivileges"] == false);
  CHECK((*plain)["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ERRNO");

  auto hardened = BuildFor(R"({"SecurityOpt":["no-new-privileges:true"]})");
  REQUIRE(hardened.ok());
  CHECK((*hardened)["process"]["noNewPrivileges"] == true);

  auto unconfined = BuildFor(R"({"SecurityOpt":["seccomp=unconfined"]})");
  REQUIRE(unconfined.ok());
  CHECK_FALSE((*unconfined)["linux"].contains("seccomp"));
  auto privileged = BuildFor(R"({"Privileged":true})");
  REQUIRE(privileged.ok());
  CHECK_FALSE((*privileged)["linux"].contains("seccomp"));
  // Every capability this process may grant, and none it may not.
  size_t grantable = 0;
  for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    grantable += prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1;
  }
  CHECK((*privileged)["process"]["capabilities"]["bounding"].size() == grantable);

  auto custom = BuildFor(
      R"({"SecurityOpt":["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],\"action\":\"SCMP_ACT_ERRNO\"}]}"]})");
  REQUIRE(custom.ok());
  CHECK((*custom)["linux"]["seccomp"]["defaultAction"] == "SCMP_ACT_ALLOW");

  CHECK(BuildFor(R"({"SecurityOpt":["nonsense"]})").status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("--init runs docker-init as pid 1 with the command after --", "[spec]") {
  CreateConfig c = Merge(R"({"Cmd":["sleep","5"]})", R"({"Init":true})", "{}");
  SpecInputs in;
  in.id = kId;
  in.config = c.config;
  in.host_config = c.host_config;
  in.args = Argv(c);
  in.rootfs = "/rootfs";
  CHECK(BuildOciSpec(in).status().code() == absl::StatusCode::kFailedPrecondition);
  in.init_path = "/usr/bin/tini-static";
  auto built = BuildOciSpec(in);
  REQUIRE(built.ok());
  CHECK((*built)["process"]["args"] == Json::array({"/sbin/docker-init", "--", "sleep", "5"}));
  const Json* init = FindMount(*built, "/sbin/docker-init");
  REQUIRE(init != nullptr);
  CHECK((*init)["source"] == "/usr/bin/tini-static");
  CHECK((*init)["options"] == Json::array({"bind", "ro"}));
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("--device and --device-cgroup-rule reach the spec and the device cgroup", "[spec]") {
  auto built = BuildFor(
      R"({"Devices":[{"PathOnHost":"/dev/null","PathInContainer":"/dev/mynull","CgroupPermissions":"rw"}],
          "DeviceCgroupRules":["c 42:* rmw"]})");
  REQUIRE(built.ok());
  const Json& nodes = (*built)["linux"]["devices"];
  REQUIRE(nodes.size() == 1);
  CHECK(nodes[0]["path"] == "/dev/mynull");
  CHECK(nodes[0]["type"] == "c");
  CHECK(nodes[0]["major"] == 1);
  CHECK(nodes[0]["minor"] == 3);
  const Json& rules = (*built)["linux"]["resources"]["devices"];
  CHECK(rules[0]["allow"] == false);  // deny all comes first
  CHECK(rules[rules.size() - 2] ==
        Json({{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"access", "rw"}}));
  CHECK(rules.back() == Json({{"allow", true}, {"type", "c"}, {"major", 42}, {"access", "rmw"}}));

  auto missing = BuildFor(R"({"Devices":[{"PathOnHost":"/dev/nope"}]})");
  CHECK(missing.status().message() ==
        "error gathering device information while adding custom device \"/dev/nope\": No such "
        "file or directory");
  CHECK(BuildFor(R"({"DeviceCgroupRules":["c 42 rmw"]})").status().message() ==
        "invalid device cgroup format 'c 42 rmw'");
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("--pid and --ipc container:<id> join the other container's namespaces", "[spec]") {
  auto build = [](const std::string& host, const std::string& pid_ns, const std::string& ipc_ns,
                  const std::string& shm = "") {
    CreateConfig c = Merge(R"({"Cmd":["true"]})", host, "{}");
    SpecInputs in;
    in.id = kId;
    in.config = c.config;
    in.host_config = c.host_config;
    in.args = Argv(c);
    in.rootfs = "/rootfs";
    in.netns_path = "/run/netns/x";
    in.pid_namespace_path = pid_ns;
    in.ipc_namespace_path = ipc_ns;
    in.shared_shm_path = shm;
    auto built = BuildOciSpec(in);
    REQUIRE(built.ok());
    return *built;
  };
  auto namespace_path = [](const Json& spec, const std::string& type) -> std::string {
    for (const Json& ns : spec["linux"]["namespaces"]) {
      if (ns["type"] == type) return ns.value("path", std::string("(new)"));
    }
    return "(none)";
  };
  Json joined = build(R"({"PidMode":"container:x","IpcMode":"container:x"})", "/proc/42/ns/pid",
                      "/proc/42/ns/ipc", "/run/berth/donor/shm");
  CHECK(namespace_path(joined, "pid") == "/proc/42/ns/pid");
  CHECK(namespace_path(joined, "ipc") == "/proc/42/ns/ipc");
  const Json* shm = FindMount(joined, "/dev/shm");
  REQUIRE(shm != nullptr);
  CHECK((*shm)["source"] == "/run/berth/donor/shm");

  Json host_ipc = build(R"({"IpcMode":"host","PidMode":"host"})", "", "");
  CHECK(namespace_path(host_ipc, "ipc") == "(none)");
  CHECK(namespace_path(host_ipc, "pid") == "(none)");
  CHECK((*FindMount(host_ipc, "/dev/shm"))["source"] == "/dev/shm");

  Json no_ipc = build(R"({"IpcMode":"none"})", "", "");
  CHECK(namespace_path(no_ipc, "ipc") == "(new)");
  CHECK(FindMount(no_ipc, "/dev/shm") == nullptr);
  CHECK((*FindMount(build("{}", "", ""), "/dev/shm"))["type"] == "tmpfs");
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("--health-* flags merge with the image's HEALTHCHECK field by field", "[config]") {
  const std::string image =
      R"({"Cmd":["sh"],"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":30000000000,"Retries":5}})";
  CreateConfig flags_only = Merge(R"({"Healthcheck":{"Interval":1000000000}})", "{}", image);
  CHECK(flags_only.config["Healthcheck"]["Test"] == Json::array({"CMD-SHELL", "true"}));
  CHECK(flags_only.config["Healthcheck"]["Interval"] == 1000000000);
  CHECK(flags_only.config["Healthcheck"]["Retries"] == 5);
  CreateConfig disabled = Merge(R"({"Healthcheck":{"Test":["NONE"]}})", "{}", image);
  CHECK(disabled.config["Healthcheck"]["Test"] == Json::array({"NONE"}));
  CreateConfig inherited = Merge("{}", "{}", image);
  CHECK(inherited.config["Healthcheck"]["Retries"] == 5);
}

}  // namespace berth::runtimed
