#include "common/mount_propagation.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/str_cat.h"

namespace berth {
namespace {

const char kMountinfo[] =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
    "30 22 0:25 / /srv/private rw - tmpfs tmpfs rw\n"
    "32 30 0:27 / /srv/private/with\\040space rw shared:9 - tmpfs tmpfs rw\n"
    "33 22 0:28 / /srv/privatex rw shared:10 - tmpfs tmpfs rw\n"
    "34 22 0:29 / /srv/privatex rw - tmpfs tmpfs rw\n";

MountPoint Bind(const std::string& source, const std::string& propagation) {
  MountPoint m;
  m.type = "bind";
  m.source = source;
  m.destination = "/m";
  m.propagation = propagation;
  return m;
}

TEST_CASE("the mount holding a path is the last, longest mount point above it") {
  CHECK(MountHolding("/srv/private/a/b", kMountinfo)->mount_point == "/srv/private");
  CHECK(MountHolding("/srv/private", kMountinfo)->optional_fields.empty());
  // Mounted over: the later line hides the earlier one.
  CHECK(MountHolding("/srv/privatex/a", kMountinfo)->optional_fields.empty());
  CHECK(MountHolding("/srv/private/with space/x", kMountinfo)->optional_fields == "shared:9");
  CHECK(MountHolding("/srv/privat", kMountinfo)->mount_point == "/");
  CHECK(MountHolding("/usr", kMountinfo)->optional_fields == "shared:1");
  CHECK(absl::IsNotFound(MountHolding("/x", "").status()));
}

// Real directories (symlinks in sources are resolved) under mount points
// described by a made-up mountinfo.
struct Dirs {
  Dirs() {
    char tmpl[] = "/tmp/mpXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    base = tmpl;
    for (const char* d : {"/private", "/private/d", "/slave", "/slave/d", "/shared"}) {
      REQUIRE(mkdir((base + d).c_str(), 0755) == 0);
    }
    REQUIRE(symlink((base + "/private/d").c_str(), (base + "/shared/link").c_str()) == 0);
    mountinfo = absl::StrCat("22 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\n", "30 22 0:25 / ",
                             base, "/private rw - tmpfs tmpfs rw\n", "31 22 0:26 / ", base,
                             "/slave rw master:1 - tmpfs tmpfs rw\n", "32 22 0:27 / ", base,
                             "/shared rw shared:4 - tmpfs tmpfs rw\n");
  }
  ~Dirs() {
    unlink((base + "/shared/link").c_str());
    for (const char* d : {"/shared", "/slave/d", "/slave", "/private/d", "/private", ""}) {
      rmdir((base + d).c_str());
    }
  }
  std::string base;
  std::string mountinfo;
};

TEST_CASE("shared and slave binds need a shared or slave source, in Docker's words") {
  Dirs t;
  CHECK(CheckBindPropagation(Bind(t.base + "/shared", "rshared"), t.mountinfo).ok());
  CHECK(CheckBindPropagation(Bind(t.base + "/shared", "rslave"), t.mountinfo).ok());
  CHECK(CheckBindPropagation(Bind(t.base + "/slave/d", "rslave"), t.mountinfo).ok());
  CHECK(CheckBindPropagation(Bind(t.base + "/private/d", "rprivate"), t.mountinfo).ok());
  CHECK(CheckBindPropagation(Bind(t.base + "/missing", "rshared"), t.mountinfo).ok());

  absl::Status shared = CheckBindPropagation(Bind(t.base + "/private/d", "rshared"), t.mountinfo);
  CHECK(absl::IsFailedPrecondition(shared));
  CHECK(std::string(shared.message()) == absl::StrCat("path ", t.base, "/private/d is mounted on ",
                                                      t.base,
                                                      "/private but it is not a shared mount"));
  CHECK(std::string(
            CheckBindPropagation(Bind(t.base + "/slave/d", "shared"), t.mountinfo).message()) ==
        absl::StrCat("path ", t.base, "/slave/d is mounted on ", t.base,
                     "/slave but it is not a shared mount"));
  CHECK(std::string(
            CheckBindPropagation(Bind(t.base + "/private/d", "slave"), t.mountinfo).message()) ==
        absl::StrCat("path ", t.base, "/private/d is mounted on ", t.base,
                     "/private but it is not a shared or slave mount"));
  // The link is followed to where the mount really comes from.
  CHECK(absl::IsFailedPrecondition(
      CheckBindPropagation(Bind(t.base + "/shared/link", "rshared"), t.mountinfo)));
}

TEST_CASE("the root propagates as the binds need") {
  CHECK(RootfsPropagationFor({Bind("/a", "rprivate")}).empty());
  CHECK(RootfsPropagationFor({Bind("/a", "rslave"), Bind("/b", "private")}) == "rslave");
  CHECK(RootfsPropagationFor({Bind("/a", "rslave"), Bind("/b", "rshared")}) == "shared");
  MountPoint volume = Bind("/a", "rshared");
  volume.type = "volume";
  CHECK(RootfsPropagationFor({volume}).empty());
}

}  // namespace
}  // namespace berth
