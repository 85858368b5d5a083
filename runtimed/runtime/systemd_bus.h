// The few methods of systemd's manager (org.freedesktop.systemd1.Manager)
// the systemd cgroup driver calls, behind an interface so the driver is
// tested with a fake.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtimed/runtime/systemd_paths.h"

namespace berth::runtime {

class SystemdBus {
 public:
  virtual ~SystemdBus() = default;
  // StartTransientUnit(name, "fail", properties): queues the start job and
  // returns; the caller waits for the scope's cgroup to hold its PID.
  virtual absl::Status StartTransientUnit(const std::string& name,
                                          const std::vector<UnitProperty>& properties) = 0;
  // StopUnit(name, "replace"). NotFound when systemd has no such unit loaded
  // (an empty scope is collected as soon as its last process exits).
  virtual absl::Status StopUnit(const std::string& name) = 0;
  // SetUnitProperties(name, runtime=true, properties): not persisted, as the
  // scope itself is transient.
  virtual absl::Status SetUnitProperties(const std::string& name,
                                         const std::vector<UnitProperty>& properties) = 0;
};

// runc's default as root: systemd's private socket, which needs no D-Bus
// daemon.
inline constexpr char kDefaultSystemdBusAddress[] = "unix:path=/run/systemd/private";
// Overrides the address (an sd-bus address: "unix:path=..."), for engines
// whose systemd is not the host's (the e2e test boots a private one).
inline constexpr char kSystemdBusAddressEnv[] = "BERTH_SYSTEMD_BUS_ADDRESS";

// $BERTH_SYSTEMD_BUS_ADDRESS, or the default.
std::string SystemdBusAddress();

// Connects to the manager at `address` over sd-bus, peer to peer (no Hello:
// the private socket is not a message bus). libsystemd is loaded on first
// use, so processes that never use the systemd driver (the shim of every
// cgroupfs container) do not carry it. Unavailable, naming the address,
// when nothing answers there.
absl::StatusOr<std::unique_ptr<SystemdBus>> ConnectSystemd(const std::string& address);

}  // namespace berth::runtime
