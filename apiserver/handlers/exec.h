// /containers/{name}/exec and /exec/{id}/...: docker exec. Start hijacks the
// connection exactly like attach (101 UPGRADED when asked, multiplexed
// frames without a tty, raw bytes with one).
#pragma once

#include "apiserver/backends/backends.h"
#include "apiserver/backends/exec_backend.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class ExecHandlers {
 public:
  explicit ExecHandlers(ExecBackend* execs) : execs_(execs) {}
  // Where exec_detach events go (none without).
  void set_containers(ContainerBackend* containers) { containers_ = containers; }

  void Register(Router& router);

  absl::Status Create(Exchange& exchange, const std::string& container);
  absl::Status Start(Exchange& exchange, const std::string& id);
  absl::Status Resize(Exchange& exchange, const std::string& id);
  absl::Status Inspect(Exchange& exchange, const std::string& id);
  // ExecIDs of container inspect: null when there are none (or runtimed
  // cannot say), as Docker.
  void AddExecIds(const runtime::v1::Container& container, Json& out);

 private:
  ExecBackend* execs_;
  ContainerBackend* containers_ = nullptr;
};

// Docker's ExecInspectResponse.
Json RenderExecInspect(const runtime::v1::ExecInfo& exec);

}  // namespace berth::apiserver
