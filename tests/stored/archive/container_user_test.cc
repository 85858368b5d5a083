#include "stored/archive/container_user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "common/unique_fd.h"

namespace berth::containerfs {
namespace {

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "app:x:1000:1001:App:/home/app:/bin/sh\n"
    "num:x:2000:2002::/:/bin/sh\n";
const char kGroup[] =
    "root:x:0:\n"
    "staff:x:50:app\n"
    "app:x:1001:\n";

TEST_CASE("a user name is resolved through the container's passwd and group") {
  absl::StatusOr<Owner> owner = ResolveOwner("app", kPasswd, kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->uid == 1000);
  CHECK(owner->gid == 1001);
  owner = ResolveOwner("app:staff", kPasswd, kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->uid == 1000);
  CHECK(owner->gid == 50);
  owner = ResolveOwner("app:7", kPasswd, kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->gid == 7);
}

TEST_CASE("numeric users: passwd's group when listed, else 0, as runc does") {
  absl::StatusOr<Owner> owner = ResolveOwner("2000", kPasswd, kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->uid == 2000);
  CHECK(owner->gid == 2002);
  owner = ResolveOwner("4242", kPasswd, kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->uid == 4242);
  CHECK(owner->gid == 0);
  owner = ResolveOwner("4242:staff", "", kGroup);
  REQUIRE(owner.ok());
  CHECK(owner->gid == 50);
}

TEST_CASE("unknown names fail in runc's words") {
  absl::Status status = ResolveOwner("ghost", kPasswd, kGroup).status();
  CHECK(absl::IsInvalidArgument(status));
  CHECK(status.message() == "unable to find user ghost: no matching entries in passwd file");
  status = ResolveOwner("app:ghosts", kPasswd, kGroup).status();
  CHECK(status.message() == "unable to find group ghosts: no matching entries in group file");
  // A name must match a whole field, not a prefix.
  CHECK_FALSE(ResolveOwner("ap", kPasswd, kGroup).ok());
}

TEST_CASE("the files are read inside the root, whatever /etc is a link to") {
  char tmpl[] = "/tmp/cuXXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string base = tmpl;
  REQUIRE(MakeDirs(base + "/root/real").ok());
  REQUIRE(symlink("/real", (base + "/root/etc").c_str()) == 0);
  REQUIRE(WriteFileAtomic(base + "/root/real/passwd", kPasswd).ok());
  // A host-absolute link must not reach the host's files.
  REQUIRE(symlink("/etc/group", (base + "/root/real/group").c_str()) == 0);
  UniqueFd root(open((base + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root.valid());
  absl::StatusOr<Owner> owner = ResolveOwnerInRoot(root.get(), "app");
  REQUIRE(owner.ok());
  CHECK(owner->uid == 1000);
  // /etc/group resolves to /etc/group inside the root: a loop back to itself.
  CHECK_FALSE(ResolveOwnerInRoot(root.get(), "app:root").ok());
  RemoveAll(base).IgnoreError();
}

}  // namespace
}  // namespace berth::containerfs
