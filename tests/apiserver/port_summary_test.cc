#include "apiserver/port_summary.h"

#include <catch2/catch.hpp>

namespace berth::apiserver {
namespace {

TEST_CASE("NetworkSettings.Ports become docker ps's port list") {
  Json ports = Json::parse(R"({
    "443/tcp": null,
    "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "10.0.0.1", "HostPort": "8081"}],
    "x/tcp": [],
    "81/tcp": [{"HostIp": "0.0.0.0", "HostPort": "nope"}]})");
  CHECK(PortSummaries(ports) == Json::parse(R"([
    {"PrivatePort": 443, "Type": "tcp"},
    {"IP": "127.0.0.1", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"},
    {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
    {"IP": "10.0.0.1", "PrivatePort": 80, "PublicPort": 8081, "Type": "tcp"}])"));
  CHECK(PortSummaries(Json()) == Json::array());
  CHECK(PortSummaries(Json::object()) == Json::array());
}

}  // namespace
}  // namespace berth::apiserver
