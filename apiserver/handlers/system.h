// /_ping, /version, /info.
#pragma once

#include "apiserver/backends/backends.h"
#include "apiserver/host_info.h"
#include "apiserver/router.h"
#include "common/json.h"

namespace berth::apiserver {

class SystemHandlers {
 public:
  SystemHandlers(ContainerBackend* containers, ImageBackend* images, HostInfo host)
      : containers_(containers), images_(images), host_(std::move(host)) {}

  void Register(Router& router);

  absl::Status Ping(Exchange& exchange);
  absl::Status Version(Exchange& exchange);
  absl::Status Info(Exchange& exchange);

  Json VersionJson() const;
  // Never fails: a backend that is down shows up in Warnings, so that
  // `docker info` keeps working while a daemon restarts.
  Json InfoJson();
  Json SecurityOptions() const;

 private:
  ContainerBackend* containers_;
  ImageBackend* images_;
  HostInfo host_;
};

}  // namespace berth::apiserver
