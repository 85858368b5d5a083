#include "apiserver/handlers/volumes.h"

#include <catch2/catch.hpp>
#include <map>

#include "apiserver/api.h"
#include "common/json.h"
#include "common/mount_points.h"
#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

namespace st = ::berth::storage::v1;
using testing::FakeContainers;
using testing::FakeExchange;
using testing::FakeImages;

// stored's volumes in memory, with its error words.
class FakeVolumes : public VolumeBackend {
 public:
  absl::StatusOr<st::Volume> CreateVolume(const st::CreateVolumeRequest& request) override {
    std::string name = request.name().empty() ? std::string(64, 'f') : request.name();
    if (volumes.count(name)) return volumes[name];
    st::Volume& v = volumes[name];
    v.set_name(name);
    v.set_mountpoint("/root/stored/volumes/" + name + "/_data");
    *v.mutable_labels() = request.labels();
    v.set_created_at(1700000000);
    return v;
  }
  absl::StatusOr<st::Volume> GetVolume(const std::string& name) override {
    if (!volumes.count(name)) return absl::NotFoundError("get " + name + ": no such volume");
    return volumes[name];
  }
  absl::StatusOr<std::vector<st::Volume>> ListVolumes() override {
    std::vector<st::Volume> out;
    for (auto& [name, v] : volumes) out.push_back(v);
    return out;
  }
  absl::Status RemoveVolume(const std::string& name, bool force) override {
    if (!volumes.count(name)) {
      return force ? absl::OkStatus() : absl::NotFoundError("get " + name + ": no such volume");
    }
    if (volumes[name].container_ids_size() > 0) {
      return absl::FailedPreconditionError("remove " + name + ": volume is in use - [" +
                                           volumes[name].container_ids(0) + "]");
    }
    volumes.erase(name);
    return absl::OkStatus();
  }
  absl::StatusOr<st::PruneVolumesResponse> PruneVolumes(bool all) override {
    st::PruneVolumesResponse response;
    for (auto it = volumes.begin(); it != volumes.end();) {
      if (it->second.container_ids_size() == 0 && (all || it->second.anonymous())) {
        response.add_deleted(it->first);
        response.set_space_reclaimed(response.space_reclaimed() + 10);
        it = volumes.erase(it);
      } else {
        ++it;
      }
    }
    return response;
  }
  std::map<std::string, st::Volume> volumes;
};

struct Fixture {
  FakeContainers containers;
  FakeImages images;
  FakeVolumes volumes;
  Api api{&containers, &images, HostInfo{}};

  Fixture() { api.EnableVolumes(&volumes, "/root/stored/volumes"); }

  std::unique_ptr<FakeExchange> Call(const std::string& method, const std::string& target,
                                     const std::string& body = "") {
    auto exchange = std::make_unique<FakeExchange>(method, target, body);
    api.Handle(*exchange);
    return exchange;
  }
};

Json BodyJson(const FakeExchange& e) { return Json::parse(e.body); }

TEST_CASE_METHOD(Fixture, "volume create, inspect, list and remove") {
  auto created = Call("POST", "/v1.50/volumes/create",
                      R"({"Name":"v1","Driver":"local","Labels":{"team":"a"}})");
  REQUIRE(created->status == 201);
  Json v = BodyJson(*created);
  CHECK(v["Name"] == "v1");
  CHECK(v["Driver"] == "local");
  CHECK(v["Scope"] == "local");
  CHECK(v["Mountpoint"] == "/root/stored/volumes/v1/_data");
  CHECK(v["Labels"] == Json::parse(R"({"team":"a"})"));
  CHECK(v["Options"].is_null());
  CHECK(v["CreatedAt"] == "2023-11-14T22:13:20Z");

  auto anonymous = Call("POST", "/volumes/create", "{}");
  REQUIRE(anonymous->status == 201);
  CHECK(BodyJson(*anonymous)["Name"] == std::string(64, 'f'));
  CHECK(Call("POST", "/volumes/create", R"({"Driver":"nfs"})")->status == 404);

  auto inspect = Call("GET", "/volumes/v1");
  REQUIRE(inspect->status == 200);
  CHECK(BodyJson(*inspect)["Name"] == "v1");
  auto missing = Call("GET", "/volumes/nope");
  CHECK(missing->status == 404);
  CHECK(BodyJson(*missing)["message"] == "get nope: no such volume");

  auto list = Call("GET", "/volumes");
  REQUIRE(list->status == 200);
  CHECK(BodyJson(*list)["Volumes"].size() == 2);
  CHECK(BodyJson(*list)["Warnings"].is_null());
  auto by_label = Call("GET", R"(/volumes?filters={"label":{"team=a":true}})");
  CHECK(BodyJson(*by_label)["Volumes"].size() == 1);
  auto by_name = Call("GET", R"(/volumes?filters={"name":{"v":true}})");
  CHECK(BodyJson(*by_name)["Volumes"].size() == 1);
  volumes.volumes["v1"].add_container_ids("c1");
  auto dangling = Call("GET", R"(/volumes?filters={"dangling":{"true":true}})");
  REQUIRE(BodyJson(*dangling)["Volumes"].size() == 1);
  CHECK(BodyJson(*dangling)["Volumes"][0]["Name"] == std::string(64, 'f'));
  CHECK(Call("GET", R"(/volumes?filters={"bogus":{"x":true}})")->status == 400);

  auto in_use = Call("DELETE", "/volumes/v1");
  CHECK(in_use->status == 409);
  CHECK(BodyJson(*in_use)["message"] == "remove v1: volume is in use - [c1]");
  volumes.volumes["v1"].clear_container_ids();
  CHECK(Call("DELETE", "/volumes/v1")->status == 204);
  CHECK(Call("DELETE", "/volumes/v1")->status == 404);
  CHECK(Call("DELETE", "/volumes/v1?force=1")->status == 204);
}

TEST_CASE_METHOD(Fixture, "prune removes anonymous volumes unless all") {
  REQUIRE(Call("POST", "/volumes/create", R"({"Name":"named"})")->status == 201);
  st::Volume anon;
  anon.set_name("anon1");
  anon.set_anonymous(true);
  volumes.volumes["anon1"] = anon;
  auto pruned = Call("POST", "/volumes/prune");
  REQUIRE(pruned->status == 200);
  CHECK(BodyJson(*pruned)["VolumesDeleted"] == Json::array({"anon1"}));
  CHECK(BodyJson(*pruned)["SpaceReclaimed"] == 10);
  pruned = Call("POST", R"(/volumes/prune?filters={"all":{"true":true}})");
  CHECK(BodyJson(*pruned)["VolumesDeleted"] == Json::array({"named"}));
}

TEST_CASE("inspect's Mounts list binds and volumes as Docker does") {
  runtime::v1::Container c;
  c.set_id(std::string(64, 'a'));
  c.set_config_json(R"({"Volumes":{"/anon":{}}})");
  c.set_host_config_json(R"({"Binds":["v1:/data","/tmp/x:/mnt:ro"]})");
  Json mounts = RenderMounts(c, "/r/stored/volumes");
  REQUIRE(mounts.size() == 3);
  std::map<std::string, Json> by_dest;
  for (const Json& m : mounts) by_dest[m["Destination"]] = m;
  CHECK(by_dest["/data"] == Json::parse(R"({"Type":"volume","Name":"v1",
      "Source":"/r/stored/volumes/v1/_data","Destination":"/data","Driver":"local","Mode":"z",
      "RW":true,"Propagation":""})"));
  CHECK(by_dest["/mnt"] == Json::parse(R"({"Type":"bind","Source":"/tmp/x","Destination":"/mnt",
      "Mode":"ro","RW":false,"Propagation":"rprivate"})"));
  const std::string anon = AnonymousVolumeName(c.id(), "/anon");
  CHECK(by_dest["/anon"]["Name"] == anon);
  CHECK(by_dest["/anon"]["Mode"] == "");
}

}  // namespace
}  // namespace berth::apiserver
