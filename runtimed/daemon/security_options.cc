#include "runtimed/daemon/security_options.h"

#include <sys/utsname.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::runtimed {
namespace {

absl::Status ProfileError(const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat("Error loading seccomp profile: ", problem));
}

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<std::string> Strings(const Json& object, const char* key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const Json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// "6.1.0-18-amd64" -> {6, 1}; what minKernel compares.
std::pair<int, int> KernelVersion(const std::string& release) {
  int major = 0, minor = 0;
  std::sscanf(release.c_str(), "%d.%d", &major, &minor);
  return {major, minor};
}

std::string NativeScmpArch(const std::string& go_arch) {
  static const std::pair<const char*, const char*> kArches[] = {
      {"amd64", "SCMP_ARCH_X86_64"},    {"386", "SCMP_ARCH_X86"},
      {"arm64", "SCMP_ARCH_AARCH64"},   {"arm", "SCMP_ARCH_ARM"},
      {"mips64", "SCMP_ARCH_MIPS64"},   {"mips64le", "SCMP_ARCH_MIPSEL64"},
      {"ppc64le", "SCMP_ARCH_PPC64LE"}, {"s390x", "SCMP_ARCH_S390X"},
      {"riscv64", "SCMP_ARCH_RISCV64"},
  };
  for (const auto& [go, scmp] : kArches) {
    if (go_arch == go) return scmp;
  }
  return "";
}

// Whether a rule's includes/excludes select it for this container. Every
// listed capability must be present for includes, any one excludes.
absl::StatusOr<bool> RuleApplies(const Json& rule, const SeccompContext& context) {
  if (auto it = rule.find("includes"); it != rule.end() && it->is_object()) {
    std::vector<std::string> arches = Strings(*it, "arches");
    if (!arches.empty() && !Contains(arches, context.go_arch)) return false;
    for (const std::string& cap : Strings(*it, "caps")) {
      if (!Contains(context.capabilities, cap)) return false;
    }
    if (auto min = it->find("minKernel"); min != it->end() && min->is_string()) {
      if (KernelVersion(context.kernel_release) < KernelVersion(min->get<std::string>())) {
        return false;
      }
    }
  }
  if (auto it = rule.find("excludes"); it != rule.end() && it->is_object()) {
    if (Contains(Strings(*it, "arches"), context.go_arch)) return false;
    for (const std::string& cap : Strings(*it, "caps")) {
      if (Contains(context.capabilities, cap)) return false;
    }
    if (it->contains("minKernel")) return ProfileError("excludes.minKernel is not supported");
  }
  return true;
}

Json Rule(const std::string& names, Json extra = Json::object()) {
  Json rule = {{"names", absl::StrSplit(names, ' ', absl::SkipEmpty())},
               {"action", "SCMP_ACT_ALLOW"}};
  rule.update(extra);
  return rule;
}

Json Arg(unsigned index, uint64_t value, const char* op) {
  return Json::array({{{"index", index}, {"value", value}, {"op", op}}});
}

Json Caps(const char* cap) { return {{"caps", Json::array({cap})}}; }

Json BuildDefaultProfile() {
  // Namespace-creating clone flags; without CAP_SYS_ADMIN clone must not use
  // them (CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET).
  constexpr uint64_t kNamespaceFlags = 0x7E020000;
  Json rules = Json::array();
  rules.push_back(Rule(
      "accept accept4 access adjtimex alarm bind brk capget capset chdir chmod chown chown32 "
      "clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime "
      "clock_gettime64 clock_nanosleep clock_nanosleep_time64 close close_range connect "
      "copy_file_range creat dup dup2 dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old "
      "epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old eventfd eventfd2 execve execveat exit "
      "exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate fanotify_mark fchdir "
      "fchmod fchmodat fchown fchown32 fchownat fcntl fcntl64 fdatasync fgetxattr flistxattr "
      "flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync "
      "ftruncate ftruncate64 futex futex_time64 futex_waitv futimesat getcpu getcwd getdents "
      "getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups getgroups32 "
      "getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid "
      "getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid "
      "getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32 getxattr "
      "inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl "
      "io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set "
      "io_setup io_submit io_uring_enter io_uring_register io_uring_setup ipc kill "
      "landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 "
      "lgetxattr link linkat listen listxattr llistxattr _llseek lremovexattr lseek lsetxattr "
      "lstat lstat64 madvise membarrier memfd_create memfd_secret mincore mkdir mkdirat mknod "
      "mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open "
      "mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink "
      "mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at "
      "nanosleep newfstatat _newselect open openat openat2 pause pidfd_open pidfd_send_signal "
      "pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64 "
      "preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev "
      "pwritev2 read readahead readlink readlinkat readv recv recvfrom recvmmsg "
      "recvmmsg_time64 recvmsg remap_file_pages removexattr rename renameat renameat2 "
      "restart_syscall rmdir rseq rt_sigaction rt_sigpending rt_sigprocmask rt_sigqueueinfo "
      "rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64 rt_tgsigqueueinfo "
      "sched_getaffinity sched_getattr sched_getparam sched_get_priority_max "
      "sched_get_priority_min sched_getscheduler sched_rr_get_interval "
      "sched_rr_get_interval_time64 sched_setaffinity sched_setattr sched_setparam "
      "sched_setscheduler sched_yield seccomp select semctl semget semop semtimedop "
      "semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid setfsgid32 "
      "setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority "
      "setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 "
      "setrlimit set_robust_list setsid setsockopt set_thread_area set_tid_address setuid "
      "setuid32 setxattr shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 "
      "sigprocmask sigreturn socketcall socketpair splice stat stat64 statfs statfs64 statx "
      "symlink symlinkat sync sync_file_range syncfs sysinfo tee tgkill time timer_create "
      "timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime "
      "timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime "
      "timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat "
      "utime utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write "
      "writev"));
  rules.push_back(
      Rule("process_vm_readv process_vm_writev ptrace", {{"includes", {{"minKernel", "4.8"}}}}));
  // Every address family but AF_VSOCK (40).
  rules.push_back(Rule("socket", {{"args", Arg(0, 40, "SCMP_CMP_NE")}}));
  // personality: only PER_LINUX, PER_LINUX32, UNAME26 variants and the query.
  for (uint64_t persona : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL}) {
    rules.push_back(Rule("personality", {{"args", Arg(0, persona, "SCMP_CMP_EQ")}}));
  }
  rules.push_back(Rule("sync_file_range2 swapcontext", {{"includes", {{"arches", {"ppc64le"}}}}}));
  rules.push_back(
      Rule("arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint "
           "cacheflush set_tls",
           {{"includes", {{"arches", {"arm", "arm64"}}}}}));
  rules.push_back(Rule("arch_prctl", {{"includes", {{"arches", {"amd64", "x32"}}}}}));
  rules.push_back(Rule("modify_ldt", {{"includes", {{"arches", {"amd64", "x32", "x86"}}}}}));
  rules.push_back(Rule("s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
                       {{"includes", {{"arches", {"s390", "s390x"}}}}}));
  rules.push_back(Rule("riscv_flush_icache", {{"includes", {{"arches", {"riscv64"}}}}}));
  rules.push_back(Rule("open_by_handle_at", {{"includes", Caps("CAP_DAC_READ_SEARCH")}}));
  rules.push_back(
      Rule("bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie mount "
           "mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname "
           "sethostname setns syslog umount umount2 unshare",
           {{"includes", Caps("CAP_SYS_ADMIN")}}));
  rules.push_back(
      Rule("clone", {{"args", Arg(0, kNamespaceFlags, "SCMP_CMP_MASKED_EQ")},
                     {"excludes", {{"caps", {"CAP_SYS_ADMIN"}}, {"arches", {"s390", "s390x"}}}}}));
  // s390 passes clone's flags second.
  rules.push_back(Rule("clone", {{"args", Arg(1, kNamespaceFlags, "SCMP_CMP_MASKED_EQ")},
                                 {"includes", {{"arches", {"s390", "s390x"}}}},
                                 {"excludes", Caps("CAP_SYS_ADMIN")}}));
  // ENOSYS, not EPERM, so that libc falls back to clone.
  rules.push_back(
      Rule("clone3",
           {{"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}, {"excludes", Caps("CAP_SYS_ADMIN")}}));
  const std::pair<const char*, const char*> kByCapability[] = {
      {"reboot", "CAP_SYS_BOOT"},
      {"chroot", "CAP_SYS_CHROOT"},
      {"delete_module init_module finit_module", "CAP_SYS_MODULE"},
      {"acct", "CAP_SYS_PACCT"},
      {"kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
       "CAP_SYS_PTRACE"},
      {"iopl ioperm", "CAP_SYS_RAWIO"},
      {"settimeofday stime clock_settime clock_settime64", "CAP_SYS_TIME"},
      {"vhangup", "CAP_SYS_TTY_CONFIG"},
      {"get_mempolicy mbind set_mempolicy set_mempolicy_home_node", "CAP_SYS_NICE"},
      {"syslog", "CAP_SYSLOG"},
      {"bpf", "CAP_BPF"},
      {"perf_event_open", "CAP_PERFMON"},
  };
  for (const auto& [names, cap] : kByCapability) {
    rules.push_back(Rule(names, {{"includes", Caps(cap)}}));
  }
  Json arch_map = Json::array({
      {{"architecture", "SCMP_ARCH_X86_64"},
       {"subArchitectures", {"SCMP_ARCH_X86", "SCMP_ARCH_X32"}}},
      {{"architecture", "SCMP_ARCH_AARCH64"}, {"subArchitectures", {"SCMP_ARCH_ARM"}}},
      {{"architecture", "SCMP_ARCH_MIPS64"},
       {"subArchitectures", {"SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"}}},
      {{"architecture", "SCMP_ARCH_MIPSEL64"},
       {"subArchitectures", {"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"}}},
      {{"architecture", "SCMP_ARCH_S390X"}, {"subArchitectures", {"SCMP_ARCH_S390"}}},
      {{"architecture", "SCMP_ARCH_RISCV64"}, {"subArchitectures", Json::array()}},
  });
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"defaultErrnoRet", 1},
          {"archMap", arch_map},
          {"syscalls", rules}};
}

}  // namespace

absl::StatusOr<SecurityOptions> ParseSecurityOptions(const std::vector<std::string>& options) {
  SecurityOptions parsed;
  for (const std::string& option : options) {
    if (option == "no-new-privileges") {
      parsed.no_new_privileges = true;
      continue;
    }
    if (option == "disable") continue;  // label:disable, old spelling
    size_t split = option.find('=');
    if (split == std::string::npos) split = option.find(':');  // Docker's older separator
    if (split == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid --security-opt 1: \"", option, "\""));
    }
    std::string key = option.substr(0, split);
    std::string value = option.substr(split + 1);
    if (key == "seccomp") {
      parsed.seccomp = value == "builtin" ? "" : value;
    } else if (key == "no-new-privileges") {
      if (value == "true" || value == "1") {
        parsed.no_new_privileges = true;
      } else if (value == "false" || value == "0") {
        parsed.no_new_privileges = false;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid --security-opt 2: \"", option, "\""));
      }
    } else if (key != "label" && key != "apparmor" && key != "systempaths" &&
               key != "writable-cgroups") {
      return absl::InvalidArgumentError(absl::StrCat("invalid --security-opt 2: \"", option, "\""));
    }
  }
  return parsed;
}

SeccompContext HostSeccompContext() {
  SeccompContext context;
  struct utsname name;
  if (uname(&name) == 0) {
    context.kernel_release = name.release;
    std::string machine = name.machine;
    if (machine == "x86_64") {
      context.go_arch = "amd64";
    } else if (machine == "aarch64") {
      context.go_arch = "arm64";
    } else if (machine == "i686" || machine == "i386") {
      context.go_arch = "386";
    } else {
      context.go_arch = machine;
    }
  }
  return context;
}

absl::StatusOr<Json> OciSeccompFromProfile(const Json& profile, const SeccompContext& context) {
  if (!profile.is_object()) return ProfileError("the profile must be a JSON object");
  Json oci = Json::object();
  auto default_action = profile.find("defaultAction");
  if (default_action == profile.end() || !default_action->is_string() ||
      default_action->get<std::string>().empty()) {
    return ProfileError("defaultAction is required");
  }
  oci["defaultAction"] = *default_action;
  if (profile.contains("defaultErrnoRet")) oci["defaultErrnoRet"] = profile["defaultErrnoRet"];
  std::vector<std::string> architectures = Strings(profile, "architectures");
  auto arch_map = profile.find("archMap");
  bool has_arch_map = arch_map != profile.end() && arch_map->is_array() && !arch_map->empty();
  if (!architectures.empty() && has_arch_map) {
    return ProfileError(
        "both 'architectures' and 'archMap' are specified in the seccomp profile, "
        "use either 'architectures' or 'archMap'");
  }
  if (has_arch_map) {
    std::string native = NativeScmpArch(context.go_arch);
    for (const Json& entry : *arch_map) {
      if (!entry.is_object() || entry.value("architecture", "") != native) continue;
      architectures.push_back(native);
      for (const std::string& sub : Strings(entry, "subArchitectures")) {
        architectures.push_back(sub);
      }
    }
  }
  if (!architectures.empty()) oci["architectures"] = architectures;
  if (std::vector<std::string> flags = Strings(profile, "flags"); !flags.empty()) {
    oci["flags"] = flags;
  }
  Json syscalls = Json::array();
  if (auto it = profile.find("syscalls"); it != profile.end() && !it->is_null()) {
    if (!it->is_array()) return ProfileError("syscalls must be an array");
    for (const Json& rule : *it) {
      if (!rule.is_object()) return ProfileError("each syscall rule must be an object");
      bool has_name = rule.contains("name") && rule["name"].is_string() &&
                      !rule["name"].get<std::string>().empty();
      bool has_names = rule.contains("names") && rule["names"].is_array() && !rule["names"].empty();
      if (has_name && has_names) {
        return ProfileError(
            "'name' and 'names' were specified in the seccomp profile, use either "
            "'name' or 'names'");
      }
      ASSIGN_OR_RETURN(bool applies, RuleApplies(rule, context));
      if (!applies) continue;
      Json entry = {{"names", has_name ? Json::array({rule["name"]}) : rule.value("names", Json())},
                    {"action", rule.contains("action") ? rule["action"] : Json("")}};
      if (entry["names"].is_null() || entry["names"].empty()) continue;
      if (rule.contains("errnoRet")) entry["errnoRet"] = rule["errnoRet"];
      if (rule.contains("args") && rule["args"].is_array() && !rule["args"].empty()) {
        entry["args"] = rule["args"];
      }
      syscalls.push_back(std::move(entry));
    }
  }
  oci["syscalls"] = syscalls;
  return oci;
}

const Json& DefaultSeccompProfile() {
  static const Json* profile = new Json(BuildDefaultProfile());
  return *profile;
}

absl::StatusOr<std::optional<Json>> ContainerSeccomp(const SecurityOptions& options,
                                                     bool privileged,
                                                     const SeccompContext& context) {
  // Docker runs privileged containers unconfined, whatever the profile.
  if (privileged || options.seccomp == "unconfined") return std::optional<Json>();
  if (options.seccomp.empty()) {
    ASSIGN_OR_RETURN(Json oci, OciSeccompFromProfile(DefaultSeccompProfile(), context));
    return std::optional<Json>(std::move(oci));
  }
  Json profile = Json::parse(options.seccomp, nullptr, /*allow_exceptions=*/false);
  if (profile.is_discarded()) return ProfileError("the profile is not valid JSON");
  ASSIGN_OR_RETURN(Json oci, OciSeccompFromProfile(profile, context));
  return std::optional<Json>(std::move(oci));
}

}  // namespace berth::runtimed
