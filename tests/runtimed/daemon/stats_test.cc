// ContainerStatsReader: the cgroup from config.json, zeros for a container
// that is not running, NotFound for an unknown one.
#include "runtimed/daemon/stats.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"

namespace berth::runtimed {
namespace {

class Containers : public ExecContainers {
 public:
  absl::StatusOr<ExecTarget> Find(const std::string& ref) override {
    if (ref != "c1") return absl::NotFoundError("No such container: " + ref);
    return target;
  }
  ExecTarget target;
};

TEST_CASE("stats read the cgroup named in config.json") {
  char tmpl[] = "/tmp/bstXXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  std::string dir = tmpl;
  REQUIRE(MakeDirs(dir + "/bundle").ok());
  REQUIRE(
      WriteFileAtomic(dir + "/bundle/config.json", R"({"linux": {"cgroupsPath": "parent/c1id"}})")
          .ok());
  REQUIRE(MakeDirs(dir + "/cg/memory/parent/c1id").ok());
  REQUIRE(MakeDirs(dir + "/cg/pids/parent/c1id").ok());
  REQUIRE(WriteFileAtomic(dir + "/cg/memory/parent/c1id/memory.usage_in_bytes", "2048\n").ok());
  REQUIRE(WriteFileAtomic(dir + "/cg/pids/parent/c1id/pids.current", "4\n").ok());

  Containers containers;
  containers.target.id = "c1id";
  containers.target.name = "c1";
  containers.target.status = "running";
  containers.target.bundle_dir = dir + "/bundle";
  ContainerStatsReader reader(&containers, dir + "/cg");

  auto sample = reader.Read("c1");
  REQUIRE(sample.ok());
  CHECK(sample->running());
  CHECK(sample->id() == "c1id");
  CHECK(sample->name() == "c1");
  CHECK(sample->memory_usage() == 2048);
  CHECK(sample->pids_current() == 4);
  CHECK(sample->read_time() > 0);

  containers.target.status = "exited";
  auto stopped = reader.Read("c1");
  REQUIRE(stopped.ok());
  CHECK_FALSE(stopped->running());
  CHECK(stopped->memory_usage() == 0);

  CHECK(absl::IsNotFound(reader.Read("nope").status()));
  RemoveAll(dir).IgnoreError();
}

}  // namespace
}  // namespace berth::runtimed
