// What the embedded DNS server asks netd's endpoint registry.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace berth::netd::dns {

class NameSource {
 public:
  virtual ~NameSource() = default;

  // The IPv4 addresses (host order) that `name` has for container `asker`:
  // the containers on a network `asker` is attached to whose name, network
  // alias or short ID is `name` (or `name` is "<that>.<network name>").
  // `name` is lowercased and has no trailing dot. Empty when it is not one
  // of theirs. Called from several threads.
  virtual std::vector<uint32_t> Lookup(const std::string& asker, const std::string& name) = 0;

  // The IPv6 addresses (16 raw bytes each) of the same containers, on
  // the networks among those that have IPv6.
  virtual std::vector<std::string> Lookup6(const std::string& asker, const std::string& name) = 0;

  // The name (without trailing dot) of the container at `address` (host
  // order) on a network `asker` shares, for PTR queries; "" when none.
  virtual std::string ReverseLookup(const std::string& asker, uint32_t address) { return ""; }
};

}  // namespace berth::netd::dns
