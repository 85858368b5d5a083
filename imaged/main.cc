// berth-imaged: the image daemon. Unprivileged: layers go to stored, and the
// only outbound connections are to registries.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "common/daemon_options.h"
#include "common/event_journal.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "imaged/build/sql_build_cache.h"
#include "imaged/build_adapters.h"
#include "imaged/build_service.h"
#include "imaged/commit.h"
#include "imaged/content_store.h"
#include "imaged/distribution.h"
#include "imaged/grpc_changes_source.h"
#include "imaged/grpc_layer_sink.h"
#include "imaged/image_service.h"
#include "imaged/image_store.h"
#include "imaged/metadata_store.h"
#include "imaged/registry/http.h"

ABSL_FLAG(std::string, certs_dir, "/etc/docker/certs.d",
          "Docker's certs.d directory: <dir>/<host:port>/ca.crt is trusted for that registry");

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "imaged");
  auto fail = [](const absl::Status& status) {
    spdlog::critical("{}", status.ToString());
    return EXIT_FAILURE;
  };
  berth::imaged::RegistryOptions registry_options;
  registry_options.certs_dir = absl::GetFlag(FLAGS_certs_dir);
  if (!options.config_file.empty()) {
    auto text = berth::ReadFile(options.config_file);
    // A missing daemon.json is the same as an empty one, as for dockerd.
    if (text.ok()) {
      absl::Status status = berth::imaged::ApplyDaemonConfig(*text, &registry_options);
      if (!status.ok()) return fail(status);
    }
  }
  const std::string state = options.StateDir();
  if (absl::Status status = berth::MakeDirs(state, 0700); !status.ok()) return fail(status);
  auto content = berth::imaged::FileContentStore::Open(state);
  registry_options.downloads_dir = state + "/downloads";
  registry_options.compressed_dir = state + "/compressed";
  if (!content.ok()) return fail(content.status());
  auto metadata = berth::imaged::MetadataStore::Open(state + "/imaged.db");
  if (!metadata.ok()) return fail(metadata.status());
  berth::imaged::GrpcLayerSink layers(options.GrpcSocketOf("stored"));
  berth::imaged::ImageStore store(content->get(), metadata->get(), &layers);
  store.set_max_concurrent_applies(registry_options.max_concurrent_applies);
  if (absl::Status status = store.GarbageCollect(); !status.ok()) return fail(status);
  berth::imaged::registry::CurlTransport http;
  berth::imaged::Distribution distribution(&store, content->get(), &http, registry_options);

  berth::imaged::GrpcChangesSource changes(options.GrpcSocketOf("stored"));
  berth::imaged::ContainerCommitter committer(&store, content->get(), &changes);
  berth::imaged::ImageService service(&store, &distribution);
  service.set_committer(&committer);
  // The build cache has a database of its own: it is a cache, and its
  // schema evolves apart from the image records.
  auto build_db = berth::imaged::build::OpenBuildCacheDatabase(state + "/build.db");
  if (!build_db.ok()) return fail(build_db.status());
  berth::imaged::build::SqlBuildCache build_cache(build_db->get(),
                                                  [] { return absl::ToUnixSeconds(absl::Now()); });
  berth::imaged::GrpcStepRunner step_runner(berth::UnixChannel(options.GrpcSocketOf("runtimed")),
                                            &store);
  berth::imaged::BuildService builder(&store, content->get(), &distribution, &http, &changes,
                                      &step_runner, &build_cache, options.RunDir() + "/build");
  if (absl::Status status = builder.CleanUp(); !status.ok()) return fail(status);
  service.set_builder(&builder);
  berth::imaged::BuildCacheManager build_cache_manager(&store, &build_cache, builder.active());
  berth::imaged::BuildCacheGrpcService build_cache_service(&build_cache_manager);
  berth::EventJournal events;
  service.set_events(&events);
  berth::EventServiceImpl event_service(&events);
  auto server = berth::GrpcServer::Start(options, {&service, &event_service, &build_cache_service});
  if (!server.ok()) return fail(server.status());
  (*server)->ServeUntilSignal();
  return EXIT_SUCCESS;
}
