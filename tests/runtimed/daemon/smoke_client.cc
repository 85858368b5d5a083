// A manual end-to-end check of berth-runtimed with the real shim, stored and
// netd (not run by `bazel test`): applies a one-layer image made from a tar,
// then creates, attaches, waits, starts, reads logs and removes a container.
//
//   smoke_client <exec_root> <layer.tar> <cmd>...
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "common/digest.h"
#include "common/grpc_server.h"
#include "common/json.h"
#include "proto/runtime/v1/runtime.grpc.pb.h"
#include "proto/storage/v1/storage.grpc.pb.h"

using namespace berth;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: smoke_client <exec_root> <layer.tar> <cmd>...\n";
    return 2;
  }
  const std::string exec_root = argv[1];
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string tar = buffer.str();
  const std::string diff_id = Sha256Digest(tar);

  auto stored = storage::v1::StorageService::NewStub(UnixChannel(exec_root + "/grpc/stored.sock"));
  {
    grpc::ClientContext context;
    storage::v1::ApplyLayerResponse response;
    auto writer = stored->ApplyLayer(&context, &response);
    storage::v1::ApplyLayerRequest header;
    header.mutable_header()->set_chain_id(diff_id);
    header.mutable_header()->set_diff_id(diff_id);
    writer->Write(header);
    storage::v1::ApplyLayerRequest chunk;
    chunk.mutable_chunk()->set_data(tar);
    writer->Write(chunk);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    std::cout << "ApplyLayer: " << (status.ok() ? "ok" : status.error_message()) << "\n";
  }

  auto runtime =
      runtime::v1::RuntimeService::NewStub(UnixChannel(exec_root + "/grpc/runtimed.sock"));
  Json cmd = Json::array();
  for (int i = 3; i < argc; ++i) cmd.push_back(argv[i]);
  runtime::v1::CreateContainerRequest create;
  create.set_config_json(Json{{"Cmd", cmd}, {"Image", "smoke"}, {"Labels", {{"k", "v"}}}}.dump());
  create.set_host_config_json(R"({"NetworkMode":"default"})");
  create.mutable_image()->set_id(diff_id);
  create.mutable_image()->set_reference("smoke");
  create.mutable_image()->set_config_json(R"({"config":{"Env":["PATH=/bin"]}})");
  create.mutable_image()->set_top_chain_id(diff_id);
  runtime::v1::CreateContainerResponse created;
  {
    grpc::ClientContext context;
    grpc::Status status = runtime->CreateContainer(&context, create, &created);
    std::cout << "Create: " << (status.ok() ? created.id() : status.error_message()) << "\n";
    if (!status.ok()) return 1;
  }
  const std::string id = created.id();

  grpc::ClientContext attach_context;
  auto attach = runtime->Attach(&attach_context);
  runtime::v1::AttachRequest options;
  options.mutable_options()->set_id(id);
  options.mutable_options()->set_stdout(true);
  options.mutable_options()->set_stderr(true);
  options.mutable_options()->set_stream(true);
  attach->Write(options);
  attach->WritesDone();
  runtime::v1::AttachResponse response;
  attach->Read(&response);
  std::cout << "Attach registered: " << response.has_registered() << "\n";
  std::thread output([&] {
    runtime::v1::AttachResponse r;
    while (attach->Read(&r)) {
      if (r.has_output()) {
        std::cout << "  [" << (r.output().stream() == runtime::v1::STDERR ? "err" : "out") << "] "
                  << r.output().data();
      }
    }
    std::cout << "Attach ended: " << attach->Finish().error_message() << "\n";
  });

  grpc::ClientContext wait_context;
  runtime::v1::WaitContainerRequest wait_request;
  wait_request.set_id(id);
  wait_request.set_condition("next-exit");
  auto wait = runtime->WaitContainer(&wait_context, wait_request);
  runtime::v1::WaitContainerResponse wait_response;
  wait->Read(&wait_response);
  std::cout << "Wait registered: " << wait_response.has_registered() << "\n";

  {
    grpc::ClientContext context;
    runtime::v1::StartContainerRequest start;
    start.set_id(id);
    runtime::v1::StartContainerResponse started;
    grpc::Status status = runtime->StartContainer(&context, start, &started);
    std::cout << "Start: " << (status.ok() ? "ok" : status.error_message()) << "\n";
  }
  if (wait->Read(&wait_response)) {
    std::cout << "Wait: exit " << wait_response.result().exit_code() << " "
              << wait_response.result().error() << "\n";
  }
  output.join();
  {
    grpc::ClientContext context;
    runtime::v1::GetContainerRequest get;
    get.set_id(id.substr(0, 8));
    runtime::v1::GetContainerResponse got;
    runtime->GetContainer(&context, get, &got);
    std::cout << "Get: " << got.container().name() << " " << got.container().state().status()
              << " exit=" << got.container().state().exit_code()
              << " path=" << got.container().path() << "\n";
  }
  {
    grpc::ClientContext context;
    runtime::v1::LogsRequest logs;
    logs.set_id(id);
    logs.set_stdout(true);
    logs.set_stderr(true);
    logs.set_tail(-1);
    auto reader = runtime->Logs(&context, logs);
    runtime::v1::LogEntry entry;
    while (reader->Read(&entry)) std::cout << "  log[" << entry.stream() << "] " << entry.data();
    std::cout << "Logs: " << reader->Finish().error_message() << "\n";
  }
  if (getenv("SMOKE_KEEP") == nullptr) {
    grpc::ClientContext context;
    runtime::v1::RemoveContainerRequest remove;
    remove.set_id(id);
    remove.set_force(true);
    runtime::v1::RemoveContainerResponse removed;
    grpc::Status status = runtime->RemoveContainer(&context, remove, &removed);
    std::cout << "Remove: " << (status.ok() ? "ok" : status.error_message()) << "\n";
  }
  return 0;
}
