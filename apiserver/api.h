// The Docker Engine API: version middleware, routes and error mapping over
// the handler groups. Transport-independent: HttpServer feeds it Exchanges.
#pragma once

#include <memory>

#include "apiserver/backends/backends.h"
#include "apiserver/handlers/build.h"
#include "apiserver/handlers/containers.h"
#include "apiserver/handlers/events.h"
#include "apiserver/handlers/exec.h"
#include "apiserver/handlers/files.h"
#include "apiserver/handlers/images.h"
#include "apiserver/handlers/networks.h"
#include "apiserver/handlers/stats.h"
#include "apiserver/handlers/system.h"
#include "apiserver/handlers/volumes.h"
#include "apiserver/host_info.h"
#include "apiserver/http/server.h"
#include "apiserver/router.h"

namespace berth::apiserver {

class Api {
 public:
  // Backends are not owned and must outlive the Api.
  Api(ContainerBackend* containers, ImageBackend* images, HostInfo host);

  // Serves /volumes over stored; volumes_dir is where stored keeps them.
  void EnableVolumes(VolumeBackend* volumes, const std::string& volumes_dir);

  // Serves docker cp, diff, export, sizes and system df over stored.
  void EnableFiles(ContainerBackend* containers, ImageBackend* images, VolumeBackend* volumes,
                   ContainerFilesBackend* files);

  // Serves docker exec over runtimed.
  void EnableExec(ExecBackend* execs);
  // Serves docker stats over runtimed.
  void EnableStats(StatsBackend* stats);

  // Serves /networks over netd (connect/disconnect through runtimed).
  void EnableNetworks(NetworkBackend* networks);

  // Serves /events from the daemons' journals.
  void EnableEvents(EventBackend* events);

  // Serves docker commit (and build) over imaged.
  void EnableBuild(BuildBackend* builds, ContainerBackend* containers);

  void Handle(Exchange& exchange);

  // Headers Docker puts on every response.
  static HeaderList DefaultHeaders();

 private:
  // For the exec handlers' events (exec_detach).
  ContainerBackend* const container_backend_;
  SystemHandlers system_;
  ContainerHandlers containers_;
  ImageHandlers images_;
  std::unique_ptr<VolumeHandlers> volumes_;
  std::unique_ptr<FileHandlers> files_;
  std::unique_ptr<ExecHandlers> exec_;
  std::unique_ptr<StatsHandlers> stats_;
  std::unique_ptr<NetworkHandlers> networks_;
  std::unique_ptr<EventHandlers> events_;
  std::unique_ptr<BuildHandlers> build_;
  Router router_;
};

}  // namespace berth::apiserver
