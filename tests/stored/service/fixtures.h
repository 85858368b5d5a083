// What stored's service tests share: the service in-process behind a real
// unix socket (as imaged and runtimed reach it), a layer sent the way imaged
// sends one, and the checks on archives and mounts they all make.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/mountinfo.h"
#include "stored/service/storage_service.h"
#include "tests/stored/test_tar.h"

namespace berth::testing {

// A Storage in a temporary root and its gRPC service; torn down (and the
// root removed) at the end of the scope.
struct StoredServer {
  StoredServer() {
    options.component = "stored";
    options.root = root;
    options.exec_root = root + "/run";
    auto opened = stored::Storage::Open(options.StateDir(), rootfs::NewKernelMounter());
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    storage = std::move(*opened);
    service = std::make_unique<stored::StorageService>(storage.get());
    auto started = GrpcServer::Start(options, {service.get()});
    INFO(started.status().ToString());
    REQUIRE(started.ok());
    server = std::move(*started);
    stub = storage::v1::StorageService::NewStub(UnixChannel(options.GrpcSocket()));
  }
  ~StoredServer() {
    stub.reset();
    server.reset();
    service.reset();
    storage.reset();
    CHECK(RemoveAll(root).ok());
  }

  std::string root = MakeTempDir();
  DaemonOptions options;
  std::unique_ptr<stored::Storage> storage;
  std::unique_ptr<stored::StorageService> service;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<storage::v1::StorageService::Stub> stub;
};

// ApplyLayer with the layer in 1000-byte chunks after its header.
inline grpc::Status SendLayer(storage::v1::StorageService::Stub& stub,
                              const storage::v1::ApplyLayerHeader& header, const std::string& data,
                              storage::v1::ApplyLayerResponse* response) {
  grpc::ClientContext context;
  auto writer = stub.ApplyLayer(&context, response);
  storage::v1::ApplyLayerRequest first;
  *first.mutable_header() = header;
  writer->Write(first);
  for (size_t offset = 0; offset < data.size(); offset += 1000) {
    storage::v1::ApplyLayerRequest chunk;
    chunk.mutable_chunk()->set_data(data.substr(offset, 1000));
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

// The names in a tar, as libarchive reads them.
inline std::set<std::string> TarNames(const std::string& tar) {
  std::set<std::string> names;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    names.insert(archive_entry_pathname(entry));
  }
  archive_read_free(a);
  return names;
}

// Whether anything is still mounted at or below `dir`.
inline bool MountedUnder(const std::string& dir) {
  auto mounts = ReadMountInfo();
  REQUIRE(mounts.ok());
  for (const MountInfo& mount : *mounts) {
    if (mount.mount_point.rfind(dir, 0) == 0) return true;
  }
  return false;
}

}  // namespace berth::testing
