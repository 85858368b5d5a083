// stored's ExportChanges over gRPC, for a mounted (running) and an unmounted
// (stopped) container.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>

#include "common/digest.h"
#include "common/fs.h"
#include "tests/stored/service/fixtures.h"

namespace berth {

using namespace storage::v1;
using testing::SendLayer;
using testing::TarNames;

TEST_CASE("stored over gRPC: a container's changes as a layer tar", "[stored][local]") {
  testing::StoredServer server;
  auto& stub = server.stub;
  stored::Storage* store = server.storage.get();

  std::string tar = testing::MakeTar({testing::File("hello", "world"), testing::Dir("etc")});
  storage::v1::ApplyLayerHeader header;
  header.set_chain_id(Sha256Digest(tar));
  header.set_diff_id(Sha256Digest(tar));
  ApplyLayerResponse applied;
  REQUIRE(SendLayer(*stub, header, tar, &applied).ok());
  REQUIRE(store->PrepareRootfs("abc", header.chain_id()).ok());
  auto merged = store->MountRootfs("abc");
  REQUIRE(merged.ok());
  REQUIRE(WriteFileAtomic(*merged + "/new", "n").ok());
  REQUIRE(unlink((*merged + "/hello").c_str()) == 0);
  REQUIRE(WriteFileAtomic(*merged + "/etc/hosts", "127.0.0.1 x").ok());
  REQUIRE(MakeDirs(*merged + "/vol", 0755).ok());
  REQUIRE(WriteFileAtomic(*merged + "/vol/data", "v").ok());

  auto export_changes = [&](const std::string& id, std::string* out) {
    grpc::ClientContext context;
    ExportChangesRequest request;
    request.set_container_id(id);
    request.add_excluded_paths("/vol");
    auto reader = stub->ExportChanges(&context, request);
    types::v1::Chunk chunk;
    while (reader->Read(&chunk)) out->append(chunk.data());
    return reader->Finish();
  };
  std::string running;
  REQUIRE(export_changes("abc", &running).ok());
  REQUIRE(store->UnmountRootfs("abc").ok());
  std::string stopped;
  REQUIRE(export_changes("abc", &stopped).ok());
  CHECK(running == stopped);
  std::set<std::string> names = TarNames(stopped);
  CHECK(names.count("new") == 1);
  CHECK(names.count(".wh.hello") == 1);
  CHECK(names.count("etc/hosts") == 0);
  CHECK(names.count("vol/") == 0);
  CHECK(names.count("vol/data") == 0);

  std::string none;
  CHECK(export_changes("missing", &none).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(none.empty());

  REQUIRE(store->RemoveRootfs("abc").ok());
}

}  // namespace berth
