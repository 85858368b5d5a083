#include "stored/archive/helper.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"
#include "stored/archive/container_user.h"
#include "stored/archive/resolve.h"

namespace berth::containerfs {
namespace {

constexpr int kReportFd = 3;

void Report(const std::string& line) {
  std::string out = line + "\n";
  WriteFull(kReportFd, out.data(), out.size()).IgnoreError();
}

void ReportError(const absl::Status& status) {
  std::string message = absl::StrReplaceAll(status.message(), {{"\n", " "}});
  Report(absl::StrCat("E ", static_cast<int>(status.code()), " ", message));
}

Json StatJson(const PathStat& stat) {
  return {{"name", stat.name},
          {"size", stat.size},
          {"mode", stat.mode},
          {"mtime_sec", stat.mtime_sec},
          {"mtime_nsec", stat.mtime_nsec},
          {"link_target", stat.link_target}};
}

bool IsMountPoint(const std::string& path) {
  struct stat st, parent;
  if (stat(path.c_str(), &st) != 0) return false;
  if (stat((path + "/..").c_str(), &parent) != 0) return false;
  return st.st_dev != parent.st_dev || st.st_ino == parent.st_ino;
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

// Mounts one of the container's volumes or binds at its destination,
// resolved inside the root (a destination that is a symlink in the image
// lands where the container would see it, never outside).
absl::Status MountInView(int root_fd, const ViewMount& m) {
  struct stat source;
  if (stat(m.source.c_str(), &source) != 0) return LastErrnoStatus("mount source " + m.source);
  UniqueFd target;
  if (S_ISDIR(source.st_mode)) {
    ASSIGN_OR_RETURN(target, MakeDirsInRoot(root_fd, m.destination, 0, 0));
  } else {
    std::string clean = CleanAbsolute(m.destination);
    size_t slash = clean.rfind('/');
    std::string dir = slash == 0 ? "/" : clean.substr(0, slash);
    ASSIGN_OR_RETURN(UniqueFd parent, MakeDirsInRoot(root_fd, dir, 0, 0));
    UniqueFd created(openat(parent.get(), clean.substr(slash + 1).c_str(),
                            O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
    ASSIGN_OR_RETURN(target, OpenInRoot(root_fd, clean, O_PATH, true));
  }
  if (mount(m.source.c_str(), FdPath(target.get()).c_str(), nullptr, MS_BIND | MS_REC, nullptr) !=
      0) {
    return LastErrnoStatus("bind " + m.source + " on " + m.destination);
  }
  if (m.read_only) {
    // The fd still names the directory beneath the new mount: look again.
    ASSIGN_OR_RETURN(UniqueFd mounted, OpenInRoot(root_fd, m.destination, O_PATH, true));
    if (mount(nullptr, FdPath(mounted.get()).c_str(), nullptr,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, nullptr) != 0) {
      return LastErrnoStatus("remount read-only " + m.destination);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> EnterView(const HelperRequest& request) {
  if (request.pid > 0) {
    std::string ns = absl::StrCat("/proc/", request.pid, "/ns/mnt");
    UniqueFd fd(open(ns.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return LastErrnoStatus("open " + ns);
    // Also sets our root and working directory to the container's "/".
    if (setns(fd.get(), CLONE_NEWNS) != 0) return LastErrnoStatus("join " + ns);
    if (chdir("/") != 0) return LastErrnoStatus("chdir /");
  } else {
    if (unshare(CLONE_NEWNS) != 0) return LastErrnoStatus("unshare mount namespace");
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      return LastErrnoStatus("make mounts private");
    }
    if (!IsMountPoint(request.merged)) {
      ASSIGN_OR_RETURN(std::string options, rootfs::OverlayMountOptions(request.overlay));
      if (mount("overlay", request.merged.c_str(), "overlay", 0, options.c_str()) != 0) {
        return LastErrnoStatus("mount root filesystem");
      }
    }
    if (request.read_only_rootfs) {
      if (mount(nullptr, request.merged.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY,
                nullptr) != 0 &&
          mount(request.merged.c_str(), request.merged.c_str(), nullptr, MS_BIND, nullptr) == 0) {
        mount(nullptr, request.merged.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr);
      }
    }
    UniqueFd root(open(request.merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root.valid()) return LastErrnoStatus("open " + request.merged);
    for (const ViewMount& m : request.mounts) RETURN_IF_ERROR(MountInView(root.get(), m));
    // The chroot makes the kernel itself keep every later lookup inside.
    if (chdir(request.merged.c_str()) != 0) return LastErrnoStatus("chdir root");
    if (chroot(".") != 0) return LastErrnoStatus("chroot");
    if (chdir("/") != 0) return LastErrnoStatus("chdir /");
  }
  UniqueFd root(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return LastErrnoStatus("open /");
  return root;
}

// Docker's words for a write to a read-only root or mount.
absl::Status ReadOnlyError(const HelperRequest& request, absl::Status status) {
  if (!absl::StrContains(status.message(), "Read-only file system")) return status;
  std::string dest = CleanAbsolute(request.path);
  for (const ViewMount& m : request.mounts) {
    std::string mount_dest = CleanAbsolute(m.destination);
    if (dest == mount_dest || absl::StartsWith(dest, mount_dest + "/")) {
      return absl::PermissionDeniedError("mounted volume is marked read-only");
    }
  }
  return absl::PermissionDeniedError("container rootfs is marked read-only");
}

absl::Status Run(const HelperRequest& request) {
  ASSIGN_OR_RETURN(UniqueFd root, EnterView(request));
  if (request.op == "stat" || request.op == "get") {
    ASSIGN_OR_RETURN(PathStat stat, StatPath(root.get(), request.path));
    Report("S " + StatJson(stat).dump());
    if (request.op == "stat") return absl::OkStatus();
    FdSink sink(STDOUT_FILENO);
    ArchiveOptions options;
    options.uids = request.uids;
    options.gids = request.gids;
    RETURN_IF_ERROR(WriteArchive(root.get(), request.path, options, sink));
    close(STDOUT_FILENO);
    return absl::OkStatus();
  }
  if (request.op == "export") {
    FdSink sink(STDOUT_FILENO);
    ArchiveOptions options;
    options.bare_names = true;
    options.uids = request.uids;
    options.gids = request.gids;
    RETURN_IF_ERROR(WriteArchive(root.get(), "/", options, sink));
    close(STDOUT_FILENO);
    return absl::OkStatus();
  }
  if (request.op == "put") {
    ExtractOptions options = request.extract;
    options.uids = request.uids;
    options.gids = request.gids;
    if (!options.owner.empty()) {
      ASSIGN_OR_RETURN(Owner owner, ResolveOwnerInRoot(root.get(), options.owner));
      options.keep_owners = false;
      options.uid = owner.uid;
      options.gid = owner.gid;
    }
    FdSource source(STDIN_FILENO);
    absl::Status status = ExtractArchive(root.get(), request.path, source, options);
    return ReadOnlyError(request, status);
  }
  return absl::InvalidArgumentError("unknown helper operation " + request.op);
}

Json IdMapJson(const std::vector<IdMapping>& map) {
  Json list = Json::array();
  for (const IdMapping& m : map) list.push_back({m.container_id, m.host_id, m.size});
  return list;
}

std::vector<IdMapping> IdMapFromJson(const Json& list) {
  std::vector<IdMapping> map;
  for (const Json& m : list) {
    map.push_back({m.at(0).get<uint32_t>(), m.at(1).get<uint32_t>(), m.at(2).get<uint32_t>()});
  }
  return map;
}

}  // namespace

std::string EncodeRequest(const HelperRequest& request) {
  Json mounts = Json::array();
  for (const ViewMount& m : request.mounts) {
    mounts.push_back({{"source", m.source}, {"destination", m.destination}, {"ro", m.read_only}});
  }
  return Json{{"op", request.op},
              {"path", request.path},
              {"pid", request.pid},
              {"merged", request.merged},
              {"lower", request.overlay.lower_dirs},
              {"upper", request.overlay.upper_dir},
              {"work", request.overlay.work_dir},
              {"ro_rootfs", request.read_only_rootfs},
              {"mounts", mounts},
              {"no_overwrite_dir_non_dir", request.extract.no_overwrite_dir_non_dir},
              {"keep_owners", request.extract.keep_owners},
              {"uid", request.extract.uid},
              {"gid", request.extract.gid},
              {"owner", request.extract.owner},
              {"uid_map", IdMapJson(request.uids)},
              {"gid_map", IdMapJson(request.gids)}}
      .dump();
}

absl::StatusOr<HelperRequest> DecodeRequest(const std::string& text) {
  ASSIGN_OR_RETURN(Json json, ParseJson(text));
  HelperRequest request;
  try {
    request.op = json.at("op").get<std::string>();
    request.path = json.at("path").get<std::string>();
    request.pid = json.at("pid").get<int64_t>();
    request.merged = json.at("merged").get<std::string>();
    request.overlay.lower_dirs = json.at("lower").get<std::vector<std::string>>();
    request.overlay.upper_dir = json.at("upper").get<std::string>();
    request.overlay.work_dir = json.at("work").get<std::string>();
    request.read_only_rootfs = json.at("ro_rootfs").get<bool>();
    for (const Json& m : json.at("mounts")) {
      request.mounts.push_back({m.at("source").get<std::string>(),
                                m.at("destination").get<std::string>(), m.at("ro").get<bool>()});
    }
    request.extract.no_overwrite_dir_non_dir = json.at("no_overwrite_dir_non_dir").get<bool>();
    request.extract.keep_owners = json.at("keep_owners").get<bool>();
    request.extract.uid = json.at("uid").get<uid_t>();
    request.extract.gid = json.at("gid").get<gid_t>();
    request.extract.owner = json.value("owner", "");
    request.uids = IdMapFromJson(json.value("uid_map", Json::array()));
    request.gids = IdMapFromJson(json.value("gid_map", Json::array()));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid helper request: ", e.what()));
  }
  return request;
}

int RunHelper(const std::string& encoded_request) {
  absl::StatusOr<HelperRequest> request = DecodeRequest(encoded_request);
  absl::Status status = request.ok() ? Run(*request) : request.status();
  if (!status.ok()) {
    ReportError(status);
    return 1;
  }
  Report("OK");
  return 0;
}

absl::StatusOr<std::unique_ptr<HelperProcess>> HelperProcess::Start(const std::string& exe,
                                                                    const HelperRequest& request) {
  int in[2], out[2], report[2];
  if (pipe2(in, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  UniqueFd in_read(in[0]), in_write(in[1]);
  if (pipe2(out, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  UniqueFd out_read(out[0]), out_write(out[1]);
  if (pipe2(report, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  UniqueFd report_read(report[0]), report_write(report[1]);
  // Archives stream through these pipes: 1 MiB of room instead of 64 KiB
  // means fewer wake-ups on both sides (best effort; the limit may be lower).
  fcntl(in_write.get(), F_SETPIPE_SZ, 1 << 20);
  fcntl(out_read.get(), F_SETPIPE_SZ, 1 << 20);
  std::string encoded = EncodeRequest(request);
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls (stored is multi-threaded).
  std::string arg0 = "berth-stored";
  std::string arg1 = "archive-helper";
  char* argv[] = {arg0.data(), arg1.data(), encoded.data(), nullptr};
  sigset_t none;
  sigemptyset(&none);
  pid_t pid = fork();
  if (pid < 0) return LastErrnoStatus("fork archive helper");
  if (pid == 0) {
    // Temporary fds above 3 first, so dup2 onto 0, 1, 3 cannot clobber one.
    int fds[3] = {fcntl(in_read.get(), F_DUPFD, 10), fcntl(out_write.get(), F_DUPFD, 10),
                  fcntl(report_write.get(), F_DUPFD, 10)};
    if (fds[0] < 0 || fds[1] < 0 || fds[2] < 0) _exit(127);
    if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], kReportFd) < 0) _exit(127);
    int null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, 2);
    syscall(SYS_close_range, 4, ~0U, 0);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execv(exe.c_str(), argv);
    _exit(127);
  }
  std::unique_ptr<HelperProcess> process(new HelperProcess());
  process->pid_ = pid;
  process->input_ = std::move(in_write);
  process->output_ = std::move(out_read);
  process->report_ = std::move(report_read);
  return process;
}

HelperProcess::~HelperProcess() {
  if (pid_ > 0 && !finished_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

absl::StatusOr<std::string> HelperProcess::ReadLine() {
  while (true) {
    size_t newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    char buf[4096];
    ssize_t n = read(report_.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read archive helper report");
    if (n == 0) return absl::InternalError("archive helper exited without a report");
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

absl::StatusOr<PathStat> HelperProcess::ReadStat() {
  absl::StatusOr<std::string> line = ReadLine();
  if (!line.ok() || !absl::StartsWith(*line, "S ")) {
    if (line.ok()) buffered_ = *line + "\n" + buffered_;
    absl::Status status = Finish();
    return status.ok() ? absl::InternalError("archive helper sent no stat") : status;
  }
  ASSIGN_OR_RETURN(Json json, ParseJson(line->substr(2)));
  PathStat stat;
  stat.name = json.value("name", "");
  stat.size = json.value("size", int64_t{0});
  stat.mode = json.value("mode", uint32_t{0});
  stat.mtime_sec = json.value("mtime_sec", int64_t{0});
  stat.mtime_nsec = json.value("mtime_nsec", int64_t{0});
  stat.link_target = json.value("link_target", "");
  return stat;
}

absl::Status HelperProcess::Finish() {
  input_.Reset();
  output_.Reset();
  absl::StatusOr<std::string> line = ReadLine();
  int wstatus = 0;
  pid_t waited;
  do {
    waited = waitpid(pid_, &wstatus, 0);
  } while (waited < 0 && errno == EINTR);
  finished_ = true;
  if (line.ok() && *line == "OK") return absl::OkStatus();
  if (line.ok() && absl::StartsWith(*line, "E ")) {
    std::string rest = line->substr(2);
    size_t space = rest.find(' ');
    int code = atoi(rest.substr(0, space).c_str());
    std::string message = space == std::string::npos ? "" : rest.substr(space + 1);
    return absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  if (WIFSIGNALED(wstatus)) {
    return absl::InternalError(absl::StrCat("archive helper killed by signal ", WTERMSIG(wstatus)));
  }
  return absl::InternalError(
      absl::StrCat("archive helper failed (exit status ", WEXITSTATUS(wstatus), ")"));
}

}  // namespace berth::containerfs
