// stored's ExportChanges over gRPC, for a mounted (running) and an unmounted
// (stopped) container.
#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>

#include "common/digest.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "stored/service/storage_service.h"
#include "tests/stored/test_tar.h"

namespace berth {
namespace {

using namespace storage::v1;
using Stub = storage::v1::StorageService::Stub;

grpc::Status SendLayer(Stub& stub, const storage::v1::ApplyLayerHeader& header,
                       const std::string& data, ApplyLayerResponse* response) {
  grpc::ClientContext context;
  auto writer = stub.ApplyLayer(&context, response);
  ApplyLayerRequest first;
  *first.mutable_header() = header;
  writer->Write(first);
  writer->Write([&] {
    ApplyLayerRequest chunk;
    chunk.mutable_chunk()->set_data(data);
    return chunk;
  }());
  writer->WritesDone();
  return writer->Finish();
}

// The names in a tar, as libarchive reads them.
std::set<std::string> TarNames(const std::string& tar) {
  std::set<std::string> names;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    names.insert(archive_entry_pathname(entry));
  }
  archive_read_free(a);
  return names;
}

}  // namespace

TEST_CASE("stored over gRPC: a container's changes as a layer tar", "[stored][local]") {
  std::string root = testing::MakeTempDir();
  DaemonOptions options;
  options.component = "stored";
  options.root = root;
  options.exec_root = root + "/run";
  auto storage = stored::Storage::Open(options.StateDir(), rootfs::NewKernelMounter());
  REQUIRE(storage.ok());
  stored::StorageService service(storage->get());
  auto server = GrpcServer::Start(options, {&service});
  REQUIRE(server.ok());
  auto stub = storage::v1::StorageService::NewStub(UnixChannel(options.GrpcSocket()));

  std::string tar = testing::MakeTar({testing::File("hello", "world"), testing::Dir("etc")});
  storage::v1::ApplyLayerHeader header;
  header.set_chain_id(Sha256Digest(tar));
  header.set_diff_id(Sha256Digest(tar));
  ApplyLayerResponse applied;
  REQUIRE(SendLayer(*stub, header, tar, &applied).ok());
  REQUIRE(storage->get()->PrepareRootfs("abc", header.chain_id()).ok());
  auto merged = storage->get()->MountRootfs("abc");
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
  REQUIRE(storage->get()->UnmountRootfs("abc").ok());
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

  REQUIRE(storage->get()->RemoveRootfs("abc").ok());
  server->reset();
  storage->reset();
  REQUIRE(RemoveAll(root).ok());
}

}  // namespace berth
