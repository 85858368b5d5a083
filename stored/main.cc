// berth-stored: layer snapshots and container root filesystems on overlayfs.
// Runs as uid 0 with CAP_SYS_ADMIN, CHOWN, FOWNER, DAC_OVERRIDE, MKNOD,
// SETFCAP and FSETID (mounts, and restoring layer files exactly), plus
// SYS_CHROOT and SYS_PTRACE for docker cp's helper (chroot into a stopped
// container's view, join a running container's mount namespace).
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/daemon_options.h"
#include "common/event_journal.h"
#include "common/grpc_server.h"
#include "common/log.h"
#include "common/userns_remap.h"
#include "stored/archive/helper.h"
#include "stored/rootfs/idmapped_overlay.h"
#include "stored/rootfs/overlay.h"
#include "stored/service/container_files.h"
#include "stored/service/storage.h"
#include "stored/service/storage_service.h"

int main(int argc, char** argv) {
  // stored re-runs itself as the short-lived helper of docker cp and export
  // (stored/archive/helper.h): one binary, nothing else to install.
  if (argc == 3 && std::strcmp(argv[1], "archive-helper") == 0) {
    return berth::containerfs::RunHelper(argv[2]);
  }
  berth::BlockTerminationSignals();
  // A helper that fails stops reading its stdin: a write error, not a death.
  signal(SIGPIPE, SIG_IGN);
  berth::DaemonOptions options = berth::ParseDaemonFlags(argc, argv, "stored");

  std::unique_ptr<berth::rootfs::Mounter> mounter = berth::rootfs::NewKernelMounter();
  // userns-remap: layers are idmapped into each container's overlay instead
  // of being chowned (stored/rootfs/idmapped_overlay.h).
  auto remap = berth::LoadUsernsRemap(options.config_file);
  if (!remap.ok()) {
    spdlog::critical("{}: userns-remap: {}", options.config_file, remap.status().ToString());
    return EXIT_FAILURE;
  }
  if (remap->has_value()) {
    auto idmapped = berth::rootfs::NewIdmappedOverlayMounter(std::move(mounter), **remap);
    if (!idmapped.ok()) {
      spdlog::critical("userns-remap: {}", idmapped.status().ToString());
      return EXIT_FAILURE;
    }
    mounter = *std::move(idmapped);
  }
  auto storage = berth::stored::Storage::Open(options.StateDir(), std::move(mounter));
  if (!storage.ok()) {
    spdlog::critical("cannot open storage in {}: {}", options.StateDir(),
                     storage.status().ToString());
    return EXIT_FAILURE;
  }
  char exe[4096];
  ssize_t exe_length = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (exe_length <= 0) {
    spdlog::critical("cannot find my own binary: {}", std::strerror(errno));
    return EXIT_FAILURE;
  }
  berth::stored::ContainerFiles files(storage->get(),
                                      std::string(exe, static_cast<size_t>(exe_length)));
  berth::stored::StorageService service(storage->get(), &files);
  berth::EventJournal events;
  service.set_events(&events);
  if (remap->has_value()) {
    service.set_userns_remap(&**remap);
    files.set_userns_remap(&**remap);
  }
  berth::EventServiceImpl event_service(&events);
  auto server = berth::GrpcServer::Start(options, {&service, &event_service});
  if (!server.ok()) {
    spdlog::critical("cannot serve: {}", server.status().ToString());
    return EXIT_FAILURE;
  }
  (*server)->ServeUntilSignal();
  return EXIT_SUCCESS;
}
