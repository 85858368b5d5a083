#include "tests/runtimed/shim/test_bundle.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>

#include "common/fs.h"

namespace berth::runtime::testing {
namespace {

std::string RandomHex(size_t n) {
  static std::mt19937_64 rng(std::random_device{}());
  std::string out;
  while (out.size() < n) out += "0123456789abcdef"[rng() % 16];
  return out;
}

void Check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

}  // namespace

TestBundle::TestBundle() {
  char tmpl[] = "/tmp/bsXXXXXX";
  Check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  dir_ = tmpl;
  bundle_ = dir_ + "/b";
  id_ = RandomHex(64);
  cgroup_parent_ = "berth-test-" + RandomHex(8);
  std::string rootfs = bundle_ + "/rootfs";
  for (const char* sub : {"/bin", "/proc", "/sys", "/dev", "/etc", "/tmp"}) {
    Check(MakeDirs(rootfs + sub).ok(), "mkdir");
  }
  {
    std::ifstream in("/bin/busybox", std::ios::binary);
    std::ofstream out(rootfs + "/bin/busybox", std::ios::binary);
    out << in.rdbuf();
  }
  chmod((rootfs + "/bin/busybox").c_str(), 0755);
  for (const char* tool : {"sh", "echo", "cat", "sleep", "ls", "id", "hostname", "true", "false",
                           "test", "readlink", "grep", "head", "tty", "stty", "tr"}) {
    Check(symlink("busybox", (rootfs + "/bin/" + tool).c_str()) == 0, "symlink");
  }
  std::ofstream(rootfs + "/bin/notexec") << "#!/bin/sh\n";
  chmod((rootfs + "/bin/notexec").c_str(), 0644);
}

TestBundle::~TestBundle() {
  for (const char* controller :
       {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices", ""}) {
    std::string base = std::string("/sys/fs/cgroup/") + controller;
    rmdir((base + "/" + cgroups_path()).c_str());
    rmdir((base + "/" + cgroup_parent_).c_str());
  }
  RemoveAll(dir_).IgnoreError();
}

std::string TestBundle::CgroupDir(const std::string& controller) const {
  return "/sys/fs/cgroup/" + controller + "/" + cgroups_path();
}

Json TestBundle::Config(const std::vector<std::string>& args) const {
  Json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", args},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding",
           {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE"}},
          {"effective", {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"}},
          {"permitted", {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_SETGID"}}}},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 1024}}}},
        {"noNewPrivileges", true},
        {"oomScoreAdj", 100}}},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"hostname", "berth-test"},
      {"mounts",
       {{{"destination", "/proc"},
         {"type", "proc"},
         {"source", "proc"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/etc/hostname"},
         {"type", "bind"},
         {"source", "/etc/hostname"},
         {"options", {"rbind", "rprivate", "ro"}}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}},
          {{"type", "mount"}},
          {{"type", "uts"}},
          {{"type", "ipc"}},
          {{"type", "network"}}}},
        {"cgroupsPath", cgroups_path()},
        {"resources", {{"memory", {{"limit", 64 * 1024 * 1024}}}, {"pids", {{"limit", 50}}}}},
        {"maskedPaths", {"/proc/kcore", "/proc/keys", "/sys/firmware", "/proc/scsi"}},
        {"readonlyPaths", {"/proc/sys", "/proc/sysrq-trigger", "/proc/bus"}}}}};
  return config;
}

void TestBundle::WriteConfig(const Json& config) const {
  std::ofstream(bundle_ + "/config.json") << config.dump(2);
}

shim::v1::Bootstrap TestBundle::Bootstrap(bool tty, bool open_stdin, bool stdin_once) const {
  shim::v1::Bootstrap bootstrap;
  bootstrap.set_container_id(id_);
  bootstrap.set_bundle(bundle_);
  bootstrap.set_socket_path(dir_ + "/s.sock");
  bootstrap.set_log_path(bundle_ + "/json.log");
  bootstrap.set_exit_path(bundle_ + "/exit.pb");
  bootstrap.set_tty(tty);
  bootstrap.set_open_stdin(open_stdin);
  bootstrap.set_stdin_once(stdin_once);
  return bootstrap;
}

std::string RunfilePath(const std::string& path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* workspace = getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return path;
  return std::string(srcdir) + "/" + (workspace ? workspace : "berth") + "/" + path;
}

}  // namespace berth::runtime::testing
