#include "cli/components.h"

#include <catch2/catch.hpp>
#include <set>

#include "common/privileges.h"

namespace berth::cli {

TEST_CASE("the component table names five daemons with valid privileges", "[components]") {
  std::set<std::string> names;
  int docker_api = 0;
  for (const ComponentSpec& spec : BuiltinComponents()) {
    names.insert(spec.name);
    CHECK(spec.binary == "berth-" + spec.name);
    for (const std::string& cap : spec.capabilities) {
      INFO(spec.name << " " << cap);
      CHECK(CapabilityFromName(cap).ok());
      CHECK(spec.privileged);
    }
    if (spec.serves_docker_api) ++docker_api;
  }
  CHECK(names == std::set<std::string>{"apiserver", "imaged", "netd", "runtimed", "stored"});
  CHECK(docker_api == 1);
  // The API-facing and image-handling daemons run without root.
  CHECK_FALSE(FindComponent("apiserver")->privileged);
  CHECK_FALSE(FindComponent("imaged")->privileged);
  CHECK(FindComponent("nope") == nullptr);
}

}  // namespace berth::cli
