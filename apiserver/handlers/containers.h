// /containers/...: create, list, inspect, lifecycle, wait, attach, logs, resize.
#pragma once

#include <functional>

#include "apiserver/backends/backends.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class ContainerHandlers {
 public:
  ContainerHandlers(ContainerBackend* containers, ImageBackend* images)
      : containers_(containers), images_(images) {}

  void Register(Router& router);
  // Where stored keeps volumes, for the Source of volume mounts in inspect.
  void set_volumes_dir(std::string dir) { volumes_dir_ = std::move(dir); }
  // Adds SizeRw/SizeRootFs (ps -s, inspect --size); stored computes them.
  using SizeFiller = std::function<void(const runtime::v1::Container&, Json&)>;
  void set_size_filler(SizeFiller filler) { size_filler_ = std::move(filler); }
  // Adds ExecIDs to inspect; runtimed keeps the execs.
  void set_exec_ids_filler(SizeFiller filler) { exec_ids_filler_ = std::move(filler); }

  absl::Status Create(Exchange& exchange);
  absl::Status List(Exchange& exchange);
  absl::Status Inspect(Exchange& exchange, const std::string& name);
  absl::Status Start(Exchange& exchange, const std::string& name);
  absl::Status Stop(Exchange& exchange, const std::string& name);
  absl::Status Restart(Exchange& exchange, const std::string& name);
  absl::Status Kill(Exchange& exchange, const std::string& name);
  absl::Status Pause(Exchange& exchange, const std::string& name);
  absl::Status Rename(Exchange& exchange, const std::string& name);
  absl::Status Unpause(Exchange& exchange, const std::string& name);
  absl::Status Top(Exchange& exchange, const std::string& name);
  absl::Status Update(Exchange& exchange, const std::string& name);
  absl::Status Remove(Exchange& exchange, const std::string& name);
  absl::Status Wait(Exchange& exchange, const std::string& name);
  absl::Status Attach(Exchange& exchange, const std::string& name);
  absl::Status Logs(Exchange& exchange, const std::string& name);
  absl::Status Resize(Exchange& exchange, const std::string& name);

 private:
  absl::StatusOr<runtime::v1::Container> RunningContainer(const std::string& name);

  ContainerBackend* containers_;
  ImageBackend* images_;
  std::string volumes_dir_;
  SizeFiller size_filler_;
  SizeFiller exec_ids_filler_;
};

// Docker's rule for container names.
bool ValidContainerName(const std::string& name);

}  // namespace berth::apiserver
