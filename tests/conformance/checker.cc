// The conformance checker: runs as a container's process and verifies the
// live container against the config.json it was created from, section by
// section of the OCI runtime spec. It is linked statically so that it runs in
// any rootfs (busybox's, or none).
//
//   checker check <config.json> <host.txt>   inside the container
//   checker hook <name> <log>                as any of the six hooks
//   checker hooks <log> <id> <bundle>        on the host, after the run
//
// <host.txt> holds what the container cannot see for itself: the host's
// namespaces ("ns <type> <link>") and those of the paths the config joins
// ("path <path> <link>"). Output: one line per check, `ok section/name` or
// `FAIL section/name: want X got Y`; the exit status is 1 on any failure.
#include <fcntl.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

extern char** environ;

namespace {

using Json = nlohmann::json;

int failures = 0;

void Ok(const std::string& name) { std::cout << "ok " << name << "\n"; }

void Fail(const std::string& name, const std::string& want, const std::string& got) {
  std::cout << "FAIL " << name << ": want " << want << " got " << got << "\n";
  ++failures;
}

void Expect(const std::string& name, const std::string& want, const std::string& got) {
  if (want == got) {
    Ok(name);
  } else {
    Fail(name, want, got);
  }
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<std::string> Split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string Link(const std::string& path) {
  char target[256] = {};
  ssize_t n = readlink(path.c_str(), target, sizeof(target) - 1);
  return n < 0 ? std::string("(") + strerror(errno) + ")" : std::string(target, n);
}

// ---- namespaces ----------------------------------------------------------

const std::pair<const char*, const char*> kNamespaces[] = {
    {"pid", "pid"}, {"network", "net"}, {"mount", "mnt"},     {"ipc", "ipc"},
    {"uts", "uts"}, {"user", "user"},   {"cgroup", "cgroup"}, {"time", "time"},
};

void CheckNamespaces(const Json& config, const std::map<std::string, std::string>& host,
                     const std::map<std::string, std::string>& paths) {
  std::map<std::string, Json> wanted;
  for (const Json& ns : config.value("/linux/namespaces"_json_pointer, Json::array())) {
    wanted[ns.value("type", "")] = ns;
  }
  for (const auto& [type, proc] : kNamespaces) {
    std::string name = std::string("namespaces/") + type;
    auto host_ns = host.find(proc);
    if (host_ns == host.end()) continue;  // the kernel has none of this kind
    std::string got = Link(std::string("/proc/self/ns/") + proc);
    auto it = wanted.find(type);
    if (it == wanted.end()) {
      Expect(name + " shared with the runtime", host_ns->second, got);
    } else if (it->second.contains("path")) {
      std::string path = it->second["path"];
      auto joined = paths.find(path);
      Expect(name + " joined " + path, joined == paths.end() ? "?" : joined->second, got);
    } else if (got == host_ns->second) {
      Fail(name + " new", "a namespace other than the runtime's", got);
    } else {
      Ok(name + " new");
    }
  }
}

// ---- time namespace ----------------------------------------------------

// linux.timeOffsets: the namespace's offsets as the kernel shows them, and
// the clocks read here carry them (a host's uptime is far below the offsets
// the cases use, so a clock at least that far proves the offset applies).
void CheckTimeOffsets(const Json& config) {
  const Json offsets = config.value("/linux/timeOffsets"_json_pointer, Json::object());
  if (offsets.empty()) return;
  std::map<std::string, std::string> shown;
  for (const std::string& line : Split(Slurp("/proc/self/timens_offsets"), '\n')) {
    std::vector<std::string> f;
    for (const std::string& part : Split(line, ' ')) {
      if (!part.empty()) f.push_back(part);
    }
    if (f.size() == 3) shown[f[0]] = f[1] + " " + f[2];
  }
  const std::pair<const char*, clockid_t> kClocks[] = {{"monotonic", CLOCK_MONOTONIC},
                                                       {"boottime", CLOCK_BOOTTIME}};
  for (const auto& [clock, id] : kClocks) {
    const Json offset = offsets.value(clock, Json::object());
    const int64_t secs = offset.value("secs", int64_t{0});
    const int64_t nanos = offset.value("nanosecs", int64_t{0});
    Expect(std::string("time/offset ") + clock, std::to_string(secs) + " " + std::to_string(nanos),
           shown.count(clock) != 0 ? shown[clock] : "(none)");
    if (secs <= 0) continue;
    timespec now = {};
    clock_gettime(id, &now);
    if (now.tv_sec >= secs) {
      Ok(std::string("time/clock ") + clock + " carries the offset");
    } else {
      Fail(std::string("time/clock ") + clock + " carries the offset",
           ">= " + std::to_string(secs) + " s", std::to_string(now.tv_sec) + " s");
    }
  }
}

// ---- process -------------------------------------------------------------

std::map<std::string, std::string> Status() {
  std::map<std::string, std::string> out;
  for (const std::string& line : Split(Slurp("/proc/self/status"), '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    size_t value = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return out;
}

int CapabilityNumber(const std::string& name) {
  static const char* const kNames[] = {"CHOWN",
                                       "DAC_OVERRIDE",
                                       "DAC_READ_SEARCH",
                                       "FOWNER",
                                       "FSETID",
                                       "KILL",
                                       "SETGID",
                                       "SETUID",
                                       "SETPCAP",
                                       "LINUX_IMMUTABLE",
                                       "NET_BIND_SERVICE",
                                       "NET_BROADCAST",
                                       "NET_ADMIN",
                                       "NET_RAW",
                                       "IPC_LOCK",
                                       "IPC_OWNER",
                                       "SYS_MODULE",
                                       "SYS_RAWIO",
                                       "SYS_CHROOT",
                                       "SYS_PTRACE",
                                       "SYS_PACCT",
                                       "SYS_ADMIN",
                                       "SYS_BOOT",
                                       "SYS_NICE",
                                       "SYS_RESOURCE",
                                       "SYS_TIME",
                                       "SYS_TTY_CONFIG",
                                       "MKNOD",
                                       "LEASE",
                                       "AUDIT_WRITE",
                                       "AUDIT_CONTROL",
                                       "SETFCAP",
                                       "MAC_OVERRIDE",
                                       "MAC_ADMIN",
                                       "SYSLOG",
                                       "WAKE_ALARM",
                                       "BLOCK_SUSPEND",
                                       "AUDIT_READ",
                                       "PERFMON",
                                       "BPF",
                                       "CHECKPOINT_RESTORE"};
  for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
    if (name == std::string("CAP_") + kNames[i]) return static_cast<int>(i);
  }
  return -1;
}

uint64_t CapMask(const Json& caps, const char* set, uint64_t known) {
  uint64_t mask = 0;
  for (const Json& name : caps.value(set, Json::array())) {
    int cap = CapabilityNumber(name.get<std::string>());
    if (cap >= 0) mask |= uint64_t{1} << cap;
  }
  return mask & known;
}

std::string Hex(uint64_t mask) {
  char text[32];
  snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(mask));
  return text;
}

void CheckCapabilities(const Json& process, const std::map<std::string, std::string>& status,
                       uid_t uid) {
  if (!process.contains("capabilities")) return;
  const Json& caps = process["capabilities"];
  // Capabilities the running kernel knows (the bounding set of a full root).
  int last = atoi(Trim(Slurp("/proc/sys/kernel/cap_last_cap")).c_str());
  uint64_t known = last >= 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
  uint64_t bnd = CapMask(caps, "bounding", known), eff = CapMask(caps, "effective", known),
           prm = CapMask(caps, "permitted", known), inh = CapMask(caps, "inheritable", known),
           amb = CapMask(caps, "ambient", known);
  (void)eff;
  // The config sets the runtime's process just before execve; what execve
  // then makes of them is the kernel's rule (capabilities(7)), which the
  // checker applies to know what the exec'd process must hold.
  amb &= prm & inh;
  uint64_t want_prm, want_eff, want_amb;
  if (uid == 0) {
    // Root: the file counts as fully capable; no_new_privs forbids a gain.
    want_prm = inh | bnd;
    if (process.value("noNewPrivileges", false)) want_prm &= prm;
    want_eff = want_prm;
    want_amb = amb;
  } else {
    want_prm = amb;
    want_eff = amb;
    want_amb = amb;
  }
  auto got = [&](const char* key) {
    auto it = status.find(key);
    if (it == status.end()) return std::string("(missing)");
    return Hex(std::stoull(it->second, nullptr, 16));
  };
  Expect("process/capabilities.bounding", Hex(bnd), got("CapBnd"));
  Expect("process/capabilities.inheritable", Hex(inh), got("CapInh"));
  Expect("process/capabilities.permitted", Hex(want_prm), got("CapPrm"));
  Expect("process/capabilities.effective", Hex(want_eff), got("CapEff"));
  Expect("process/capabilities.ambient", Hex(want_amb), got("CapAmb"));
}

struct Rlimit {
  const char* name;
  int resource;
};

constexpr Rlimit kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

void CheckProcess(const Json& config) {
  const Json& process = config["process"];
  std::map<std::string, std::string> status = Status();

  char cwd[4096] = {};
  Expect("process/cwd", process.value("cwd", "/"), getcwd(cwd, sizeof(cwd)) ? cwd : "(error)");

  std::set<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.insert(*e);
  for (const Json& entry : process.value("env", Json::array())) {
    std::string want = entry;
    Expect("process/env " + want.substr(0, want.find('=')), want,
           env.count(want) ? want : "(absent)");
  }

  const Json user = process.value("user", Json::object());
  uid_t uid = user.value("uid", 0u);
  gid_t gid = user.value("gid", 0u);
  Expect("process/user.uid", std::to_string(uid),
         std::to_string(getuid()) +
             (getuid() == geteuid() ? "" : " euid " + std::to_string(geteuid())));
  Expect("process/user.gid", std::to_string(gid),
         std::to_string(getgid()) +
             (getgid() == getegid() ? "" : " egid " + std::to_string(getegid())));
  std::set<gid_t> want_groups;
  for (const Json& g : user.value("additionalGids", Json::array()))
    want_groups.insert(g.get<gid_t>());
  gid_t groups[256];
  int n = getgroups(256, groups);
  std::set<gid_t> got_groups(groups, groups + std::max(n, 0));
  auto join = [](const std::set<gid_t>& s) {
    std::string out;
    for (gid_t g : s) out += (out.empty() ? "" : ",") + std::to_string(g);
    return "[" + out + "]";
  };
  Expect("process/user.additionalGids", join(want_groups), join(got_groups));
  char umask_text[8];
  snprintf(umask_text, sizeof(umask_text), "%04o", user.value("umask", 022u));
  Expect("process/user.umask", umask_text, status["Umask"]);

  for (const Json& limit : process.value("rlimits", Json::array())) {
    std::string type = limit.value("type", "");
    int resource = -1;
    for (const Rlimit& r : kRlimits) {
      if (type == r.name) resource = r.resource;
    }
    struct rlimit got = {};
    getrlimit(resource, &got);
    Expect(
        "process/rlimits " + type,
        std::to_string(limit.value("soft", 0ull)) + "/" + std::to_string(limit.value("hard", 0ull)),
        std::to_string(got.rlim_cur) + "/" + std::to_string(got.rlim_max));
  }

  Expect("process/noNewPrivileges", process.value("noNewPrivileges", false) ? "1" : "0",
         std::to_string(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
  if (process.contains("oomScoreAdj")) {
    Expect("process/oomScoreAdj", std::to_string(process["oomScoreAdj"].get<int>()),
           Trim(Slurp("/proc/self/oom_score_adj")));
  }
  CheckCapabilities(process, status, uid);
}

// ---- mounts --------------------------------------------------------------

struct MountInfo {
  std::string root, point, options, optional, type, source, super;
};

std::vector<MountInfo> Mounts() {
  std::vector<MountInfo> out;
  for (const std::string& line : Split(Slurp("/proc/self/mountinfo"), '\n')) {
    std::vector<std::string> f = Split(line, ' ');
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 10 || dash == f.end() || dash + 3 >= f.end() + 1) continue;
    MountInfo m;
    m.root = f[3];
    m.point = f[4];
    m.options = f[5];
    for (auto it = f.begin() + 6; it != dash; ++it)
      m.optional += (m.optional.empty() ? "" : " ") + *it;
    m.type = *(dash + 1);
    m.source = *(dash + 2);
    m.super = dash + 3 < f.end() ? *(dash + 3) : "";
    out.push_back(m);
  }
  return out;
}

// The topmost mount at `point`.
const MountInfo* FindMount(const std::vector<MountInfo>& mounts, const std::string& point) {
  const MountInfo* found = nullptr;
  for (const MountInfo& m : mounts) {
    if (m.point == point) found = &m;
  }
  return found;
}

bool HasOption(const std::string& options, const std::string& option) {
  for (const std::string& o : Split(options, ',')) {
    if (o == option) return true;
  }
  return false;
}

std::string Propagation(const MountInfo& m) {
  if (m.optional.find("shared:") != std::string::npos) return "shared";
  if (m.optional.find("master:") != std::string::npos) return "slave";
  if (m.optional.find("unbindable") != std::string::npos) return "unbindable";
  return "private";
}

void CheckMounts(const Json& config) {
  std::vector<MountInfo> mounts = Mounts();
  bool cgroup2 = false;
  for (const Json& mount : config.value("mounts", Json::array())) {
    std::string dest = mount.value("destination", "");
    std::string name = "mounts/" + dest;
    const MountInfo* m = FindMount(mounts, dest);
    if (m == nullptr) {
      Fail(name, "a mount", "none");
      continue;
    }
    std::vector<std::string> options = mount.value("options", std::vector<std::string>{});
    std::string type = mount.value("type", "");
    bool bind = type == "bind" || std::count(options.begin(), options.end(), "bind") ||
                std::count(options.begin(), options.end(), "rbind");
    if (type == "cgroup" || type == "cgroup2") {
      // v1 hosts get a tmpfs holding one cgroup mount per hierarchy.
      cgroup2 = m->type == "cgroup2";
      Expect(name + " type", "cgroup2 or tmpfs",
             m->type == "cgroup2" || m->type == "tmpfs" ? "cgroup2 or tmpfs" : m->type);
    } else if (!bind) {
      Expect(name + " type", type, m->type);
    }
    // On a v1 host the options hold for each hierarchy under the tmpfs.
    std::vector<const MountInfo*> targets = {m};
    if ((type == "cgroup" || type == "cgroup2") && m->type == "tmpfs") {
      targets.clear();
      for (const MountInfo& sub : mounts) {
        if (sub.point.rfind(dest + "/", 0) == 0) targets.push_back(&sub);
      }
      if (targets.empty()) Fail(name + " hierarchies", "one mount per hierarchy", "none");
    }
    for (const char* flag : {"ro", "nosuid", "nodev", "noexec"}) {
      if (!std::count(options.begin(), options.end(), flag)) continue;
      std::string got = flag;
      for (const MountInfo* t : targets) {
        if (!HasOption(t->options, flag)) got = t->point + " " + t->options;
      }
      Expect(name + " " + flag, flag, got);
    }
    for (const std::string& o : options) {
      std::string p = o[0] == 'r' && o != "rw" && o != "ro" && o != "rbind" ? o.substr(1) : o;
      if (p == "private" || p == "shared" || p == "slave" || p == "unbindable") {
        Expect(name + " propagation", p, Propagation(*m));
      }
    }
  }
  (void)cgroup2;
  for (const Json& path : config.value("/linux/maskedPaths"_json_pointer, Json::array())) {
    std::string p = path;
    struct stat st;
    std::string name = "mounts/maskedPaths " + p;
    if (stat(p.c_str(), &st) != 0) {
      Ok(name + " (absent)");
    } else if (S_ISDIR(st.st_mode)) {
      const MountInfo* m = FindMount(mounts, p);
      Expect(name, "read-only tmpfs",
             m != nullptr && m->type == "tmpfs" && HasOption(m->options, "ro") ? "read-only tmpfs"
             : m == nullptr                                                    ? "no mount"
                            : m->type + " " + m->options);
    } else {
      bool null = S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
      Expect(name, "/dev/null", null ? "/dev/null" : "the file itself");
    }
  }
  for (const Json& path : config.value("/linux/readonlyPaths"_json_pointer, Json::array())) {
    std::string p = path;
    struct statvfs st;
    std::string name = "mounts/readonlyPaths " + p;
    if (statvfs(p.c_str(), &st) != 0) {
      Ok(name + " (absent)");
    } else {
      Expect(name, "read-only", st.f_flag & ST_RDONLY ? "read-only" : "writable");
    }
  }
}

void CheckRoot(const Json& config) {
  struct statvfs st;
  statvfs("/", &st);
  bool readonly = config.value("/root/readonly"_json_pointer, false);
  Expect("root/readonly", readonly ? "read-only" : "writable",
         st.f_flag & ST_RDONLY ? "read-only" : "writable");
  std::string propagation = config.value("/linux/rootfsPropagation"_json_pointer, "");
  if (!propagation.empty()) {
    const MountInfo* root = FindMount(Mounts(), "/");
    std::string want = propagation[0] == 'r' ? propagation.substr(1) : propagation;
    Expect("root/rootfsPropagation", want, root ? Propagation(*root) : "no root mount");
  }
}

// ---- hostname, sysctl, devices, user mappings, cgroups --------------------

void CheckUts(const Json& config) {
  struct utsname uts;
  uname(&uts);
  if (config.contains("hostname")) Expect("hostname", config["hostname"], uts.nodename);
  if (config.contains("domainname")) Expect("domainname", config["domainname"], uts.domainname);
}

void CheckSysctl(const Json& config) {
  const Json sysctl = config.value("/linux/sysctl"_json_pointer, Json::object());
  for (auto it = sysctl.begin(); it != sysctl.end(); ++it) {
    std::string path = "/proc/sys/" + it.key();
    std::replace(path.begin() + 10, path.end(), '.', '/');
    Expect("sysctl/" + it.key(), it.value().get<std::string>(), Trim(Slurp(path)));
  }
}

void CheckDevices(const Json& config) {
  for (const Json& device : config.value("/linux/devices"_json_pointer, Json::array())) {
    std::string path = device.value("path", "");
    struct stat st;
    std::string name = "devices/" + path;
    if (stat(path.c_str(), &st) != 0) {
      Fail(name, "a device node", strerror(errno));
      continue;
    }
    std::string type = device.value("type", "c");
    char got_type = S_ISCHR(st.st_mode)    ? 'c'
                    : S_ISBLK(st.st_mode)  ? 'b'
                    : S_ISFIFO(st.st_mode) ? 'p'
                                           : '?';
    Expect(name + " type", type, std::string(1, got_type));
    if (type != "p") {
      Expect(
          name + " number",
          std::to_string(device.value("major", 0)) + ":" + std::to_string(device.value("minor", 0)),
          std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)));
    }
    if (device.contains("fileMode")) {
      char want[8], got[8];
      snprintf(want, sizeof(want), "%04o", device["fileMode"].get<unsigned>());
      snprintf(got, sizeof(got), "%04o", st.st_mode & 07777);
      Expect(name + " fileMode", want, got);
    }
    if (device.contains("uid"))
      Expect(name + " uid", std::to_string(device["uid"].get<unsigned>()),
             std::to_string(st.st_uid));
    if (device.contains("gid"))
      Expect(name + " gid", std::to_string(device["gid"].get<unsigned>()),
             std::to_string(st.st_gid));
  }
}

std::string Mappings(const Json& mappings) {
  std::string out;
  for (const Json& m : mappings) {
    out += std::to_string(m.value("containerID", 0u)) + " " +
           std::to_string(m.value("hostID", 0u)) + " " + std::to_string(m.value("size", 0u)) + ";";
  }
  return out;
}

std::string ProcMappings(const std::string& path) {
  std::string out;
  for (const std::string& line : Split(Slurp(path), '\n')) {
    std::vector<std::string> f = Split(line, ' ');
    if (f.size() == 3) out += f[0] + " " + f[1] + " " + f[2] + ";";
  }
  return out;
}

void CheckUserMappings(const Json& config) {
  bool new_user = false;
  for (const Json& ns : config.value("/linux/namespaces"_json_pointer, Json::array())) {
    if (ns.value("type", "") == "user" && !ns.contains("path")) new_user = true;
  }
  if (!new_user) return;
  Expect("user/uidMappings", Mappings(config["linux"]["uidMappings"]),
         ProcMappings("/proc/self/uid_map"));
  Expect("user/gidMappings", Mappings(config["linux"]["gidMappings"]),
         ProcMappings("/proc/self/gid_map"));
}

// The container's own cgroup, as the kernel shows it for `controller`.
std::string CgroupFile(const std::string& controller, const std::string& file) {
  for (const std::string& line : Split(Slurp("/proc/self/cgroup"), '\n')) {
    std::vector<std::string> f = Split(line, ':');
    if (f.size() < 2) continue;
    std::string path = f.size() == 3 ? f[2] : "/";
    std::string controllers = f.size() == 3 ? f[1] : "";
    if (f[0] == "0" && controllers.empty()) {
      std::string v2 = "/sys/fs/cgroup" + (path == "/" ? "" : path) + "/" + file;
      if (access(v2.c_str(), R_OK) == 0) return v2;
      continue;
    }
    for (const std::string& c : Split(controllers, ',')) {
      if (c != controller) continue;
      // The hierarchy at its host path, or the container's own cgroup
      // bound at the mount point (runc without a cgroup namespace).
      std::string v1 = "/sys/fs/cgroup/" + controller + (path == "/" ? "" : path) + "/" + file;
      if (access(v1.c_str(), R_OK) == 0) return v1;
      return "/sys/fs/cgroup/" + controller + "/" + file;
    }
  }
  return "/sys/fs/cgroup/" + controller + "/" + file;
}

void CheckCgroups(const Json& config) {
  bool mounted = false;
  for (const Json& mount : config.value("mounts", Json::array())) {
    mounted |= mount.value("type", "") == "cgroup" || mount.value("type", "") == "cgroup2";
  }
  if (!mounted) return;
  const Json resources = config.value("/linux/resources"_json_pointer, Json::object());
  bool v2 = access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0;
  if (resources.contains("memory") && resources["memory"].contains("limit")) {
    std::string path = CgroupFile("memory", v2 ? "memory.max" : "memory.limit_in_bytes");
    Expect("cgroups/memory.limit", std::to_string(resources["memory"]["limit"].get<int64_t>()),
           Trim(Slurp(path)) + (access(path.c_str(), R_OK) ? " (" + path + " unreadable)" : ""));
  }
  if (resources.contains("pids") && resources["pids"].contains("limit")) {
    std::string path = CgroupFile("pids", "pids.max");
    Expect("cgroups/pids.limit", std::to_string(resources["pids"]["limit"].get<int64_t>()),
           Trim(Slurp(path)) + (access(path.c_str(), R_OK) ? " (" + path + " unreadable)" : ""));
  }
  if (resources.contains("cpu") && resources["cpu"].contains("shares") && !v2) {
    std::string path = CgroupFile("cpu", "cpu.shares");
    Expect("cgroups/cpu.shares", std::to_string(resources["cpu"]["shares"].get<uint64_t>()),
           Trim(Slurp(path)) + (access(path.c_str(), R_OK) ? " (" + path + " unreadable)" : ""));
  }
}

int Check(const std::string& config_path, const std::string& host_path) {
  Json config = Json::parse(Slurp(config_path), nullptr, false);
  if (config.is_discarded()) {
    Fail("config", "a readable config.json at " + config_path, "none");
    return 1;
  }
  std::map<std::string, std::string> host, paths;
  for (const std::string& line : Split(Slurp(host_path), '\n')) {
    std::vector<std::string> f = Split(line, ' ');
    if (f.size() == 3 && f[0] == "ns") host[f[1]] = f[2];
    if (f.size() == 3 && f[0] == "path") paths[f[1]] = f[2];
  }
  CheckNamespaces(config, host, paths);
  CheckTimeOffsets(config);
  CheckUserMappings(config);
  CheckProcess(config);
  CheckUts(config);
  CheckSysctl(config);
  CheckRoot(config);
  CheckMounts(config);
  CheckDevices(config);
  CheckCgroups(config);
  return failures == 0 ? 0 : 1;
}

// ---- hooks ---------------------------------------------------------------

// A hook: appends "<name> <status> <pid> <id> <bundle> <ociVersion>" from
// the state on stdin.
int Hook(const std::string& name, const std::string& log) {
  std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  Json state = Json::parse(input, nullptr, false);
  std::ofstream out(log, std::ios::app);
  if (state.is_discarded()) {
    out << name << " (no state JSON on stdin)\n";
    return 0;
  }
  out << name << " " << state.value("status", "-") << " " << state.value("pid", 0) << " "
      << state.value("id", "-") << " " << state.value("bundle", "-") << " "
      << state.value("ociVersion", "-") << "\n";
  return 0;
}

// After the run: the six hooks ran once each, in the spec's order, each
// with the state the spec says it sees.
int Hooks(const std::string& log, const std::string& id, const std::string& bundle) {
  std::vector<std::string> lines = Split(Slurp(log), '\n');
  const char* const kOrder[] = {"prestart",       "createRuntime", "createContainer",
                                "startContainer", "poststart",     "poststop"};
  const char* const kStatus[] = {"creating", "creating", "creating",
                                 "created",  "running",  "stopped"};
  std::string order, want_order;
  for (const std::string& line : lines) order += (order.empty() ? "" : ",") + Split(line, ' ')[0];
  for (const char* hook : kOrder) want_order += (want_order.empty() ? "" : ",") + std::string(hook);
  Expect("hooks/order", want_order, order);
  std::string pid;
  for (size_t i = 0; i < lines.size() && i < 6; ++i) {
    std::vector<std::string> f = Split(lines[i], ' ');
    std::string name = std::string("hooks/") + kOrder[i];
    if (f.size() != 6) {
      Fail(name + " state", "status pid id bundle ociVersion", lines[i]);
      continue;
    }
    Expect(name + " state.status", kStatus[i], f[1]);
    Expect(name + " state.id", id, f[3]);
    Expect(name + " state.bundle", bundle, f[4]);
    Expect(name + " state.ociVersion", "set", f[5] != "-" ? "set" : "missing");
    if (i < 5) {
      // The init's pid, the same for every hook while it lives.
      if (pid.empty()) pid = f[2];
      Expect(name + " state.pid", pid != "0" ? pid : "a pid", f[2]);
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "check" && argc == 4) return Check(argv[2], argv[3]);
  if (mode == "hook" && argc == 4) return Hook(argv[2], argv[3]);
  if (mode == "hooks" && argc == 5) return Hooks(argv[2], argv[3], argv[4]);
  std::cerr << "usage: checker check <config.json> <host.txt> | hook <name> <log> | "
               "hooks <log> <id> <bundle>\n";
  return 2;
}
