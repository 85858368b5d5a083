#include "common/grpc_server.h"

#include <catch2/catch.hpp>
#include <cstdlib>

#include "common/fs.h"
#include "proto/component/v1/component.grpc.pb.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"

namespace berth {

TEST_CASE("a daemon's server answers health and info on its unix socket", "[grpc]") {
  std::string dir = "/tmp/grpcXXXXXX";
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  DaemonOptions options;
  options.component = "testd";
  options.exec_root = dir;
  auto server = GrpcServer::Start(options, {});
  REQUIRE(server.ok());

  auto channel = UnixChannel(options.GrpcSocket());
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext health_context;
  grpc::health::v1::HealthCheckRequest health_request;
  grpc::health::v1::HealthCheckResponse health_response;
  REQUIRE(health->Check(&health_context, health_request, &health_response).ok());
  CHECK(health_response.status() == grpc::health::v1::HealthCheckResponse::SERVING);

  auto info = component::v1::ComponentService::NewStub(channel);
  grpc::ClientContext info_context;
  component::v1::GetInfoResponse info_response;
  REQUIRE(info->GetInfo(&info_context, {}, &info_response).ok());
  CHECK(info_response.name() == "testd");
  CHECK(info_response.version() == kBerthVersion);

  (*server)->SetServing(false);
  grpc::ClientContext again;
  REQUIRE(health->Check(&again, health_request, &health_response).ok());
  CHECK(health_response.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING);
  server->reset();
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth
