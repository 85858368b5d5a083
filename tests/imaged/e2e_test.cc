// The real berth-imaged, unprivileged (uid/gid nobody), against a real
// berth-stored, over their unix sockets. Needs root (stored); tagged local.
#include <grp.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/digest.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "proto/image/v1/image.grpc.pb.h"
#include "proto/storage/v1/storage.grpc.pb.h"
#include "tests/imaged/test_util.h"

namespace berth::imaged {
namespace {

namespace pb = berth::image::v1;
constexpr uid_t kNobody = 65534;

// posix_spawn rather than fork: the test process runs gRPC threads, and
// gRPC's fork handlers would disturb its channels.
pid_t Spawn(std::vector<std::string> args, bool unprivileged) {
  if (unprivileged) {
    args.insert(args.begin(),
                {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"});
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

void Stop(pid_t pid, int signal) {
  kill(pid, signal);
  waitpid(pid, nullptr, 0);
}

bool WaitForSocket(const std::string& path) {
  for (int i = 0; i < 100; ++i) {
    if (PathExists(path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

grpc::Status Load(pb::ImageService::Stub& stub, const std::string& archive,
                  std::vector<std::string>* lines) {
  grpc::ClientContext context;
  auto stream = stub.LoadImages(&context);
  pb::LoadImagesRequest request;
  request.mutable_options();
  stream->Write(request);
  for (size_t offset = 0; offset < archive.size(); offset += 100000) {
    request.mutable_chunk()->set_data(archive.substr(offset, 100000));
    if (!stream->Write(request)) break;
  }
  stream->WritesDone();
  pb::Progress progress;
  while (stream->Read(&progress)) lines->push_back(progress.stream());
  return stream->Finish();
}

bool LayerExists(berth::storage::v1::StorageService::Stub& stored, const std::string& chain) {
  grpc::ClientContext context;
  berth::storage::v1::StatLayerRequest request;
  request.set_chain_id(chain);
  berth::storage::v1::StatLayerResponse response;
  grpc::Status status = stored.StatLayer(&context, request, &response);
  return status.ok() && response.exists();
}

TEST_CASE("unprivileged berth-imaged loads, serves and removes images through berth-stored",
          "[e2e]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root to run berth-stored");
    return;
  }
  testing::TempDir dir;
  std::string root = dir.path() + "/root";
  std::string run = dir.path() + "/run";
  REQUIRE(MakeDirs(root, 0755).ok());
  REQUIRE(MakeDirs(root + "/imaged", 0700).ok());
  REQUIRE(MakeDirs(run + "/grpc").ok());
  REQUIRE(chmod(dir.path().c_str(), 0755) == 0);
  REQUIRE(chmod((run + "/grpc").c_str(), 01777) == 0);
  REQUIRE(chown((root + "/imaged").c_str(), kNobody, kNobody) == 0);
  // As the supervisor lays it out: <exec_root>/imaged belongs to imaged (its
  // build contexts live there).
  REQUIRE(MakeDirs(run + "/imaged", 0700).ok());
  REQUIRE(chown((run + "/imaged").c_str(), kNobody, kNobody) == 0);
  // The runfiles may be under a directory nobody cannot enter (/root).
  std::string imaged_binary = dir.path() + "/berth-imaged";
  REQUIRE(WriteFileAtomic(imaged_binary, ReadFile("imaged/berth-imaged").value(), 0755).ok());
  // absl flags are spelled with underscores.
  std::vector<std::string> imaged_args = {imaged_binary, "--root=" + root, "--exec_root=" + run};
  std::vector<std::string> stored_args = {"stored/berth-stored", "--root=" + root,
                                          "--exec_root=" + run, "--socket_gid=65534"};

  pid_t imaged = Spawn(imaged_args, /*unprivileged=*/true);
  REQUIRE(WaitForSocket(run + "/grpc/imaged.sock"));
  auto stub = pb::ImageService::NewStub(UnixChannel(run + "/grpc/imaged.sock"));
  testing::ImageFiles busybox{testing::ConfigFor({Sha256Digest(testing::BusyboxLayer())}),
                              {testing::BusyboxLayer()}};
  std::string archive = testing::DockerSave2010({{busybox, {"busybox:latest"}}});

  // stored is not running yet: imaged is up anyway and says who is missing.
  std::vector<std::string> lines;
  grpc::Status status = Load(*stub, archive, &lines);
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(status.error_message().find("stored is unavailable") == 0);

  pid_t stored = Spawn(stored_args, /*unprivileged=*/false);
  REQUIRE(WaitForSocket(run + "/grpc/stored.sock"));
  auto stored_stub =
      berth::storage::v1::StorageService::NewStub(UnixChannel(run + "/grpc/stored.sock"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  status = Load(*stub, archive, &lines);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(lines == std::vector<std::string>{"Loaded image: busybox:latest\n"});
  std::string chain = Sha256Digest(testing::BusyboxLayer());
  CHECK(LayerExists(*stored_stub, chain));

  // SIGKILL and restart: everything is still there.
  Stop(imaged, SIGKILL);
  imaged = Spawn(imaged_args, /*unprivileged=*/true);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // A fresh channel: the old one may still hold the dead connection.
  stub = pb::ImageService::NewStub(UnixChannel(run + "/grpc/imaged.sock"));
  grpc::ClientContext get_context;
  get_context.set_wait_for_ready(true);
  get_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::GetImageRequest get;
  get.set_reference("busybox");
  pb::GetImageResponse got;
  status = stub->GetImage(&get_context, get, &got);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(got.image().id() == busybox.id());
  CHECK(got.image().repo_tags(0) == "busybox:latest");
  CHECK(got.image().size() > 1000000);
  CHECK(got.spec().top_chain_id() == chain);
  CHECK(got.spec().config_json() == busybox.config);

  grpc::ClientContext remove_context;
  pb::RemoveImageRequest remove;
  remove.set_reference("busybox");
  pb::RemoveImageResponse removed;
  status = stub->RemoveImage(&remove_context, remove, &removed);
  REQUIRE(status.ok());
  REQUIRE(removed.items_size() == 3);
  CHECK(removed.items(0).untagged() == "busybox:latest");
  CHECK(removed.items(1).deleted() == busybox.id());
  CHECK_FALSE(LayerExists(*stored_stub, chain));

  grpc::ClientContext missing_context;
  status = stub->GetImage(&missing_context, get, &got);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(status.error_message() == "No such image: busybox");

  Stop(imaged, SIGTERM);
  Stop(stored, SIGTERM);
}

}  // namespace
}  // namespace berth::imaged
