#include "netd/portmap/port_spec.h"

#include <catch2/catch.hpp>

namespace berth::netd {
namespace {

Json J(const char* text) { return Json::parse(text); }

TEST_CASE("-p forms the docker CLI sends become port requests") {
  auto requests = ParsePortRequests(J(R"({"PortBindings": {
      "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
      "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
      "81": [{"HostIp": "", "HostPort": "8000-8010"}, {"HostIp": "10.1.2.3", "HostPort": "9000"}]
    }})"),
                                    J("{}"));
  REQUIRE(requests.ok());
  REQUIRE(requests->size() == 4);
  // nlohmann orders object keys: "53/udp", "80/tcp", "81".
  const PortRequest& udp = (*requests)[0];
  CHECK(udp.proto == "udp");
  CHECK(udp.container_port == 53);
  CHECK(udp.host_ip == "127.0.0.1");
  CHECK(udp.host_port_first == 0);
  CHECK(udp.host_port_last == 0);
  const PortRequest& tcp = (*requests)[1];
  CHECK(tcp.proto == "tcp");
  CHECK(tcp.container_port == 80);
  CHECK(tcp.host_ip == "0.0.0.0");
  CHECK(tcp.host_port_first == 8080);
  CHECK(tcp.host_port_last == 8080);
  const PortRequest& range = (*requests)[2];
  CHECK(range.proto == "tcp");
  CHECK(range.container_port == 81);
  CHECK(range.host_port_first == 8000);
  CHECK(range.host_port_last == 8010);
  CHECK((*requests)[3].host_ip == "10.1.2.3");
  CHECK((*requests)[3].host_port_first == 9000);
}

TEST_CASE("-P publishes every exposed port that has no binding on a random port") {
  auto requests =
      ParsePortRequests(J(R"({"PublishAllPorts": true,
                              "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}})"),
                        J(R"({"ExposedPorts": {"80/tcp": {}, "443/tcp": {}, "53/udp": {}}})"));
  REQUIRE(requests.ok());
  REQUIRE(requests->size() == 3);
  CHECK((*requests)[0].container_port == 80);
  CHECK((*requests)[0].host_port_first == 8080);
  CHECK((*requests)[1].container_port == 443);
  CHECK((*requests)[1].host_port_first == 0);
  CHECK((*requests)[2].proto == "udp");

  // Without -P exposed ports stay unpublished.
  requests = ParsePortRequests(J("{}"), J(R"({"ExposedPorts": {"80/tcp": {}}})"));
  REQUIRE(requests.ok());
  CHECK(requests->empty());
  // Null members, as some clients send.
  requests = ParsePortRequests(J(R"({"PortBindings": null, "PublishAllPorts": null})"),
                               J(R"({"ExposedPorts": null})"));
  REQUIRE(requests.ok());
  CHECK(requests->empty());
  requests = ParsePortRequests(Json(), Json());
  REQUIRE(requests.ok());
  CHECK(requests->empty());
}

TEST_CASE("bad port specifications are refused in Docker's words") {
  auto refused = [](const char* host_config) {
    return ParsePortRequests(J(host_config), J("{}")).status();
  };
  CHECK(refused(R"({"PortBindings": {"abc/tcp": []}})").message() == "invalid containerPort: abc");
  CHECK(refused(R"({"PortBindings": {"0/tcp": []}})").message() == "invalid containerPort: 0");
  CHECK(refused(R"({"PortBindings": {"70000/tcp": []}})").message() ==
        "invalid containerPort: 70000");
  CHECK(refused(R"({"PortBindings": {"80/icmp": []}})").message() == "invalid proto: icmp");
  CHECK(refused(R"({"PortBindings": {"80/sctp": []}})").code() == absl::StatusCode::kUnimplemented);
  CHECK(refused(R"({"PortBindings": {"80": [{"HostPort": "x"}]}})").message() ==
        "invalid hostPort: x");
  CHECK(refused(R"({"PortBindings": {"80": [{"HostPort": "9-8"}]}})").message() ==
        "invalid hostPort: 9-8");
  CHECK(refused(R"({"PortBindings": {"80": [{"HostPort": "65536"}]}})").code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(refused(R"({"PortBindings": {"80": [{"HostIp": "1.2.3", "HostPort": "1"}]}})").message() ==
        "invalid IP address: 1.2.3");
  CHECK(refused(R"({"PortBindings": {"80": [{"HostIp": "::1", "HostPort": "1"}]}})").code() ==
        absl::StatusCode::kUnimplemented);
  CHECK(refused(R"({"PortBindings": {"80": 5}})").code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused(R"({"PortBindings": []})").code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("NetworkSettings.Ports lists exposed ports as null and published ones as bindings") {
  std::vector<PortMapping> mappings = {
      {"tcp", 80, "0.0.0.0", 8080}, {"tcp", 80, "127.0.0.1", 8081}, {"udp", 53, "0.0.0.0", 40000}};
  Json ports = FormatPorts(mappings, J(R"({"ExposedPorts": {"443/tcp": {}, "80/tcp": {}}})"),
                           J(R"({"PortBindings": {"53/udp": [], "22": []}})"));
  CHECK(ports == J(R"({
    "22/tcp": null,
    "443/tcp": null,
    "53/udp": [{"HostIp": "0.0.0.0", "HostPort": "40000"}],
    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"},
               {"HostIp": "127.0.0.1", "HostPort": "8081"}]})"));
  CHECK(FormatPorts({}, Json(), Json()) == Json::object());
}

}  // namespace
}  // namespace berth::netd
