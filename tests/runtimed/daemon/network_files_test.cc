#include "runtimed/daemon/network_files.h"

#include <catch2/catch.hpp>

namespace berth::runtimed {

TEST_CASE("/etc/hosts as Docker writes it", "[runtimed][network]") {
  Json config = {{"Hostname", "abc123"}};
  Json host = {{"NetworkMode", "default"},
               {"ExtraHosts", {"db:10.9.9.9", "host.docker.internal:host-gateway"}}};
  Json settings = {
      {"Networks", {{"bridge", {{"IPAddress", "172.17.0.5"}, {"Gateway", "172.17.0.1"}}}}}};
  std::string hosts = HostsFile(config, host, settings);
  CHECK(hosts.find("172.17.0.1\thost.docker.internal\n") != std::string::npos);
  CHECK(hosts.rfind("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0) == 0);
  CHECK(hosts.find("10.9.9.9\tdb\n") != std::string::npos);
  CHECK(hosts.substr(hosts.size() - 18) == "172.17.0.5\tabc123\n");

  // The primary network's address, with the domain.
  config["Domainname"] = "example.org";
  host["NetworkMode"] = "back";
  settings = {{"Networks",
               {{"front", {{"IPAddress", "10.1.0.2"}}}, {"back", {{"IPAddress", "10.2.0.2"}}}}}};
  hosts = HostsFile(config, host, settings);
  CHECK(hosts.find("10.2.0.2\tabc123.example.org abc123\n") != std::string::npos);

  // No address (--network none): the hostname resolves to loopback.
  hosts = HostsFile(config, Json{{"NetworkMode", "none"}}, Json());
  CHECK(hosts.find("127.0.1.1\tabc123.example.org abc123\n") != std::string::npos);
}

TEST_CASE("/etc/resolv.conf as Docker writes it", "[runtimed][network]") {
  const std::string host_file =
      "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch corp.example\n"
      "options edns0\n";
  SECTION("default bridge: host resolvers without loopback ones") {
    CHECK(ResolvConf(Json{{"NetworkMode", "default"}}, host_file) ==
          "nameserver 10.0.0.2\nsearch corp.example\noptions edns0\n");
    CHECK(ResolvConf(Json{{"NetworkMode", "bridge"}}, "nameserver 127.0.0.53\n") ==
          "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  }
  SECTION("--dns, --dns-search, --dns-option replace the host's") {
    Json host = {{"NetworkMode", "default"},
                 {"Dns", {"1.1.1.1"}},
                 {"DnsSearch", {"a.example", "b.example"}},
                 {"DnsOptions", {"ndots:2"}}};
    CHECK(ResolvConf(host, host_file) ==
          "nameserver 1.1.1.1\nsearch a.example b.example\noptions ndots:2\n");
  }
  SECTION("user-defined networks: the embedded server") {
    Json host = {{"NetworkMode", "mynet"}, {"Dns", {"1.1.1.1"}}, {"DnsSearch", {"a.example"}}};
    CHECK(ResolvConf(host, host_file) ==
          "nameserver 127.0.0.11\nsearch a.example\noptions edns0 ndots:0\n\n"
          "# ExtServers: [1.1.1.1]\n");
    CHECK(UsesEmbeddedDns(host));
    CHECK_FALSE(UsesEmbeddedDns(Json{{"NetworkMode", "container:x"}}));
    CHECK_FALSE(UsesEmbeddedDns(Json{{"NetworkMode", "host"}}));
    CHECK_FALSE(UsesEmbeddedDns(Json::object()));
  }
}

}  // namespace berth::runtimed

namespace berth::runtimed {

TEST_CASE("connections recorded in NetworkingConfig", "[runtimed][network]") {
  Json networking = {{"EndpointsConfig", {{"default", Json::object()}}}};
  Json host = {{"NetworkMode", "default"}};
  REQUIRE(RecordEndpoint(host, "back", {{"Aliases", {"db"}}}, &networking).ok());
  CHECK(networking["EndpointsConfig"]["back"]["Aliases"] == Json({"db"}));
  CHECK(ForgetEndpoint("bridge", &networking));
  CHECK_FALSE(networking["EndpointsConfig"].contains("default"));
  CHECK(ForgetEndpoint("back", &networking));
  CHECK_FALSE(ForgetEndpoint("back", &networking));

  Json empty;
  REQUIRE(RecordEndpoint(host, "n", Json(), &empty).ok());
  CHECK(empty["EndpointsConfig"]["n"] == Json::object());
  for (const char* mode : {"host", "none", "container:abc"}) {
    absl::Status refused = RecordEndpoint({{"NetworkMode", mode}}, "n", Json(), &networking);
    CHECK(refused.code() == absl::StatusCode::kPermissionDenied);
  }
}

}  // namespace berth::runtimed
