#include "runtimed/daemon/userns_remap.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "tests/runtimed/daemon/test_util.h"

namespace berth::runtimed {
namespace {

UsernsRemap TestRemap() {
  UsernsRemap remap;
  remap.user = "dockremap";
  remap.group = "dockremap";
  remap.uids = {{0, 100000, 1000}, {1000, 300000, 64536}};
  remap.gids = {{0, 200000, 65536}};
  return remap;
}

struct stat Stat(const std::string& path) {
  struct stat st = {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

TEST_CASE("containers are remapped unless they ask for the host's user namespace") {
  UsernsRemap remap = TestRemap();
  CHECK_FALSE(RemapsContainer(Json::object(), nullptr));
  CHECK(RemapsContainer(Json::object(), &remap));
  CHECK(RemapsContainer(Json{{"UsernsMode", ""}}, &remap));
  CHECK_FALSE(RemapsContainer(Json{{"UsernsMode", "host"}}, &remap));
}

TEST_CASE("host namespaces and privileges need --userns=host, as with dockerd") {
  UsernsRemap remap = TestRemap();
  auto refused = [&](Json host) {
    absl::Status status = CheckRemapConflicts(host, &remap);
    CHECK(absl::IsInvalidArgument(status));
    return std::string(status.message());
  };
  CHECK(refused({{"Privileged", true}})
            .find("privileged mode is incompatible with user "
                  "namespaces") == 0);
  CHECK(refused({{"NetworkMode", "host"}}) ==
        "cannot share the host's network namespace when user namespaces are enabled");
  CHECK(refused({{"PidMode", "host"}}) ==
        "cannot share the host PID namespace when user namespaces are enabled");
  CHECK(CheckRemapConflicts({{"Privileged", true}, {"UsernsMode", "host"}}, &remap).ok());
  CHECK(CheckRemapConflicts({{"NetworkMode", "host"}, {"PidMode", "host"}}, nullptr).ok());
  CHECK(CheckRemapConflicts({{"NetworkMode", "bridge"}, {"PidMode", ""}}, &remap).ok());
}

TEST_CASE("the spec gets a user namespace with every range of the remap") {
  Json spec = {{"linux", {{"namespaces", Json::array({{{"type", "mount"}}})}}}};
  AddUserNamespace(TestRemap(), &spec);
  const Json& linux = spec["linux"];
  CHECK(linux["namespaces"].size() == 2);
  CHECK(linux["namespaces"][1] == Json{{"type", "user"}});
  CHECK(linux["uidMappings"] == Json::parse(R"([{"containerID":0,"hostID":100000,"size":1000},
                        {"containerID":1000,"hostID":300000,"size":64536}])"));
  CHECK(linux["gidMappings"] == Json::parse(R"([{"containerID":0,"hostID":200000,"size":65536}])"));
}

TEST_CASE("the remapped root reaches the rootfs, network files and volumes, owns only its own") {
  std::vector<MountPoint> mounts(3);
  mounts[0].type = "volume";
  mounts[0].source = "/e/root/stored/volumes/v/_data";
  mounts[1].type = "bind";
  mounts[1].source = "/home/user/src";
  mounts[2].type = "tmpfs";
  mounts[2].destination = "/tmp";
  RemappedPaths paths =
      ContainerRemappedPaths("/e/root/runtimed", "/e/run/runtimed/", "/e/root/stored/c/1/merged",
                             {"/e/root/runtimed/containers/1/hosts", ""}, mounts, "");
  CHECK(paths.engine_dirs == std::vector<std::string>{"/e/root", "/e/run"});
  CHECK(paths.reached ==
        std::vector<std::string>{"/e/root/stored/c/1/merged", "/e/root/runtimed/containers/1/hosts",
                                 "/e/root/stored/volumes/v/_data", "/home/user/src"});
  CHECK(paths.owned == std::vector<std::string>{"/e/root/runtimed/containers/1/hosts",
                                                "/e/root/stored/volumes/v/_data"});
}

TEST_CASE("only engine directories others cannot search get the remapped group", "[root]") {
  testing::TempDir temp;
  const std::string root = temp.path() + "/root";
  const std::string outside = temp.path() + "/outside";
  REQUIRE(MakeDirs(root + "/stored/c/1/merged", 0700).ok());
  REQUIRE(chmod(root.c_str(), 0711) == 0);
  REQUIRE(MakeDirs(root + "/shared", 0750).ok());
  REQUIRE(chown((root + "/shared").c_str(), 0, 12345) == 0);
  REQUIRE(MakeDirs(root + "/shared/x", 0700).ok());
  REQUIRE(MakeDirs(outside + "/private", 0700).ok());
  REQUIRE(WriteFileAtomic(root + "/stored/c/1/hosts", "127.0.0.1 localhost\n").ok());
  REQUIRE(WriteFileAtomic(root + "/stored/c/1/mine", "").ok());
  REQUIRE(chown((root + "/stored/c/1/mine").c_str(), 4242, 4242) == 0);

  RemappedPaths paths;
  paths.engine_dirs = {root, temp.path() + "/run"};
  paths.reached = {root + "/stored/c/1/merged", root + "/shared/x/y", outside + "/private/f"};
  paths.owned = {root + "/stored/c/1/hosts", root + "/stored/c/1/mine", outside + "/private"};
  UsernsRemap remap = TestRemap();
  REQUIRE(PrepareRemappedPaths(paths, remap).ok());

  // Searchable by others already: untouched.
  CHECK(Stat(root).st_gid == 0);
  CHECK((Stat(root).st_mode & 07777) == 0711);
  for (const std::string& dir : {root + "/stored", root + "/stored/c", root + "/stored/c/1"}) {
    INFO(dir);
    CHECK(Stat(dir).st_uid == 0);
    CHECK(Stat(dir).st_gid == 200000);
    CHECK((Stat(dir).st_mode & 07777) == 0710);
  }
  // The target itself is the init's business (the overlay's root).
  CHECK(Stat(root + "/stored/c/1/merged").st_gid == 0);
  // Another group's directory keeps its group.
  CHECK(Stat(root + "/shared").st_gid == 12345);
  CHECK(Stat(root + "/shared/x").st_gid == 200000);
  CHECK(Stat(outside + "/private").st_gid == 0);
  CHECK(Stat(outside + "/private").st_uid == 0);
  CHECK(Stat(root + "/stored/c/1/hosts").st_uid == 100000);
  CHECK(Stat(root + "/stored/c/1/hosts").st_gid == 200000);
  CHECK(Stat(root + "/stored/c/1/mine").st_uid == 4242);

  // Idempotent: a second start changes nothing and succeeds.
  REQUIRE(PrepareRemappedPaths(paths, remap).ok());
  CHECK((Stat(root + "/stored").st_mode & 07777) == 0710);
}

}  // namespace
}  // namespace berth::runtimed
