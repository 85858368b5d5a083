// A busybox bundle for tests that run real containers: rootfs, config.json,
// a private cgroup parent, all under a short temp dir.
#pragma once

#include <string>
#include <vector>

#include "common/json.h"
#include "proto/shim/v1/shim.pb.h"

namespace berth::runtime::testing {

class TestBundle {
 public:
  TestBundle();
  ~TestBundle();

  const std::string& dir() const { return dir_; }
  const std::string& bundle() const { return bundle_; }
  const std::string& id() const { return id_; }
  std::string cgroups_path() const { return cgroup_parent_ + "/" + id_; }
  // /sys/fs/cgroup/<controller>/<cgroups path> on a v1 host.
  std::string CgroupDir(const std::string& controller) const;

  // A config with pid, mount, uts, ipc and network namespaces, Docker's
  // default mounts, masked and read-only paths.
  Json Config(const std::vector<std::string>& args) const;
  void WriteConfig(const Json& config) const;

  shim::v1::Bootstrap Bootstrap(bool tty = false, bool open_stdin = false,
                                bool stdin_once = false) const;

 private:
  std::string dir_;
  std::string bundle_;
  std::string id_;
  std::string cgroup_parent_;
};

// Path of a binary built by Bazel and listed in the test's data.
std::string RunfilePath(const std::string& path);

}  // namespace berth::runtime::testing
