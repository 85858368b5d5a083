// berth-imaged: the image daemon. Unprivileged: layers go to stored.
#include <cstdlib>

#include "common/daemon_options.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "imaged/content_store.h"
#include "imaged/grpc_layer_sink.h"
#include "imaged/image_service.h"
#include "imaged/image_store.h"
#include "imaged/metadata_store.h"

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "imaged");
  auto fail = [](const absl::Status& status) {
    spdlog::critical("{}", status.ToString());
    return EXIT_FAILURE;
  };
  const std::string state = options.StateDir();
  if (absl::Status status = berth::MakeDirs(state, 0700); !status.ok()) return fail(status);
  auto content = berth::imaged::FileContentStore::Open(state);
  if (!content.ok()) return fail(content.status());
  auto metadata = berth::imaged::MetadataStore::Open(state + "/imaged.db");
  if (!metadata.ok()) return fail(metadata.status());
  berth::imaged::GrpcLayerSink layers(options.GrpcSocketOf("stored"));
  berth::imaged::ImageStore store(content->get(), metadata->get(), &layers);
  if (absl::Status status = store.GarbageCollect(); !status.ok()) return fail(status);

  berth::imaged::ImageService service(&store);
  auto server = berth::GrpcServer::Start(options, {&service});
  if (!server.ok()) return fail(server.status());
  (*server)->ServeUntilSignal();
  return EXIT_SUCCESS;
}
