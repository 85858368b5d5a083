// berth-stored: layer snapshots and container root filesystems on overlayfs.
// Runs as uid 0 with CAP_SYS_ADMIN, CHOWN, FOWNER, DAC_OVERRIDE, MKNOD,
// SETFCAP and FSETID (mounts, and restoring layer files exactly).
#include <cstdlib>

#include "common/daemon_options.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "stored/rootfs/overlay.h"
#include "stored/service/storage.h"
#include "stored/service/storage_service.h"

int main(int argc, char** argv) {
  berth::BlockTerminationSignals();
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "stored");

  auto storage =
      berth::stored::Storage::Open(options.StateDir(), berth::rootfs::NewKernelMounter());
  if (!storage.ok()) {
    spdlog::critical("cannot open storage in {}: {}", options.StateDir(),
                     storage.status().ToString());
    return EXIT_FAILURE;
  }
  berth::stored::StorageService service(storage->get());
  auto server = berth::GrpcServer::Start(options, {&service});
  if (!server.ok()) {
    spdlog::critical("cannot serve: {}", server.status().ToString());
    return EXIT_FAILURE;
  }
  (*server)->ServeUntilSignal();
  return EXIT_SUCCESS;
}
