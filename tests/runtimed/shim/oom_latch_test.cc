// The OOM latch against fake counter files, and against a real cgroup whose
// process the kernel's OOM killer ends (root; tagged local).
#include "runtimed/shim/oom_latch.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <random>

#include "common/fs.h"

namespace berth::runtime {
namespace {

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/oomXXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~TempDir() { RemoveAll(path).IgnoreError(); }
  std::string path;
};

void Signal(int fd) {
  uint64_t one = 1;
  REQUIRE(write(fd, &one, sizeof(one)) == sizeof(one));
}

int SignalledBy(int signal) {
  pid_t pid = fork();
  if (pid == 0) {
    ::signal(signal, SIG_DFL);  // not Catch's handler
    raise(signal);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

TEST_CASE("an OOM latches only once the kernel counts its kill") {
  TempDir dir;
  const std::string control = dir.path + "/memory.oom_control";
  REQUIRE(WriteFileAtomic(control, "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n").ok());
  UniqueFd event(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int fd = event.get();
  OomLatch latch(std::make_unique<OomWatch>(std::move(event), control, false));
  REQUIRE(latch.fd() == fd);

  // The kernel signals before it kills: an OOM, no kill yet, re-read soon.
  Signal(fd);
  latch.OnReadable(1000);
  CHECK(latch.oom());
  CHECK_FALSE(latch.killed());
  CHECK(latch.NextCheckMs() == 1000 + OomLatch::kRecheckEveryMs);
  latch.OnTimer(1001);  // not yet due: nothing read
  REQUIRE(WriteFileAtomic(control, "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n").ok());
  latch.OnTimer(latch.NextCheckMs());
  CHECK(latch.killed());
  CHECK(latch.NextCheckMs() == -1);
  CHECK(latch.ExitWasOomKill(0, false));
}

TEST_CASE("an OOM whose kill was not counted before the cgroup went needs a SIGKILL") {
  TempDir dir;
  const std::string control = dir.path + "/memory.oom_control";
  REQUIRE(WriteFileAtomic(control, "oom_kill 0\n").ok());
  UniqueFd event(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int fd = event.get();
  OomLatch latch(std::make_unique<OomWatch>(std::move(event), control, false));
  CHECK_FALSE(latch.ExitWasOomKill(SignalledBy(SIGKILL), false));
  Signal(fd);
  latch.OnReadable(0);
  REQUIRE(latch.oom());
  // The re-reads give up after kRecheckForMs.
  int64_t now = 0;
  while (latch.NextCheckMs() >= 0 && now < 10 * OomLatch::kRecheckForMs) {
    now = latch.NextCheckMs();
    latch.OnTimer(now);
  }
  CHECK(latch.NextCheckMs() == -1);
  CHECK(now <= OomLatch::kRecheckForMs);
  CHECK_FALSE(latch.killed());
  CHECK(latch.ExitWasOomKill(SignalledBy(SIGKILL), false));
  CHECK_FALSE(latch.ExitWasOomKill(SignalledBy(SIGTERM), false));
  CHECK(latch.ExitWasOomKill(SignalledBy(SIGTERM), true));  // counted at exit after all

  // The cgroup's removal also signals (v1): the watch ends.
  REQUIRE(unlink(control.c_str()) == 0);
  Signal(fd);
  latch.OnReadable(now);
  CHECK(latch.fd() == -1);
  CHECK_FALSE(latch.killed());
}

TEST_CASE("v2: other memory events are no OOM") {
  TempDir dir;
  const std::string events = dir.path + "/memory.events";
  REQUIRE(WriteFileAtomic(events, "low 0\nhigh 7\nmax 3\noom 0\noom_kill 0\n").ok());
  UniqueFd event(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  int fd = event.get();
  OomLatch latch(std::make_unique<OomWatch>(std::move(event), events, true));
  Signal(fd);
  latch.OnReadable(0);
  CHECK_FALSE(latch.oom());
  CHECK(latch.NextCheckMs() == -1);
  REQUIRE(WriteFileAtomic(events, "low 0\nhigh 7\nmax 4\noom 1\noom_kill 1\n").ok());
  Signal(fd);
  latch.OnReadable(0);
  CHECK(latch.killed());
}

// Waits on the latch as the shim's loop does, until `done` or 30 s.
template <typename Done>
void Serve(OomLatch& latch, Done done) {
  int64_t deadline = NowMs() + 30000;
  while (!done() && NowMs() < deadline) {
    int timeout = 100;
    if (latch.NextCheckMs() >= 0) {
      timeout = static_cast<int>(std::max<int64_t>(0, latch.NextCheckMs() - NowMs()));
    }
    pollfd p = {latch.fd(), POLLIN, 0};
    int n = latch.fd() >= 0 ? poll(&p, 1, timeout) : (usleep(timeout * 1000), 0);
    if (n > 0) latch.OnReadable(NowMs());
    latch.OnTimer(NowMs());
  }
}

struct PrivateParent {
  PrivateParent() : name("berth-oomtest-" + std::to_string(std::random_device{}())) {}
  ~PrivateParent() {
    for (const char* c :
         {"memory", "cpu", "cpuacct", "cpuset", "pids", "freezer", "blkio", "devices", ""}) {
      rmdir((std::string("/sys/fs/cgroup/") + c + "/" + name).c_str());
    }
  }
  std::string name;
};

// A child in `cgroup` that touches far more than its limit, once told to.
pid_t StartHog(CgroupManager& cgroup, int* go) {
  int pipe_fds[2];
  REQUIRE(pipe2(pipe_fds, O_CLOEXEC) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[1]);
    char byte;
    if (read(pipe_fds[0], &byte, 1) != 1) _exit(2);
    const size_t size = 512 << 20;
    char* memory = static_cast<char*>(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (memory == MAP_FAILED) _exit(3);
    for (size_t i = 0; i < size; i += 4096) memory[i] = 1;
    _exit(0);
  }
  close(pipe_fds[0]);
  REQUIRE(pid > 0);
  REQUIRE(cgroup.AddProcess(pid).ok());
  *go = pipe_fds[1];
  return pid;
}

TEST_CASE("a real OOM kill fires the watch and latches, and the removal ends it") {
  PrivateParent parent;
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup = NewCgroupManager(parent.name + "/c");
  REQUIRE(cgroup.ok());
  Resources resources;
  resources.memory_limit = 16 << 20;
  resources.memory_swap = 16 << 20;
  REQUIRE((*cgroup)->Create(resources).ok());
  absl::StatusOr<std::unique_ptr<OomWatch>> watch = (*cgroup)->WatchOom();
  REQUIRE(watch.ok());
  REQUIRE(*watch != nullptr);
  OomLatch latch(*std::move(watch));
  REQUIRE(latch.fd() >= 0);

  int go = -1;
  pid_t pid = StartHog(**cgroup, &go);
  // Nothing yet: the child has not allocated.
  pollfd p = {latch.fd(), POLLIN, 0};
  CHECK(poll(&p, 1, 50) == 0);
  REQUIRE(write(go, "x", 1) == 1);
  close(go);
  Serve(latch, [&] { return latch.killed(); });
  CHECK(latch.killed());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  CHECK(latch.ExitWasOomKill(status, false));

  REQUIRE((*cgroup)->Destroy().ok());
  Serve(latch, [&] { return latch.fd() < 0; });
  CHECK(latch.fd() == -1);
}

TEST_CASE("a cgroup without OOM: a SIGKILL is no OOM kill, and the removal ends the watch") {
  PrivateParent parent;
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup = NewCgroupManager(parent.name + "/c");
  REQUIRE(cgroup.ok());
  Resources resources;
  resources.memory_limit = 64 << 20;
  REQUIRE((*cgroup)->Create(resources).ok());
  absl::StatusOr<std::unique_ptr<OomWatch>> watch = (*cgroup)->WatchOom();
  REQUIRE(watch.ok());
  REQUIRE(*watch != nullptr);
  OomLatch latch(*std::move(watch));
  int go = -1;
  pid_t pid = StartHog(**cgroup, &go);
  kill(pid, SIGKILL);
  close(go);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE((*cgroup)->Destroy().ok());
  Serve(latch, [&] { return latch.fd() < 0; });
  CHECK_FALSE(latch.oom());
  CHECK_FALSE(latch.ExitWasOomKill(status, (*cgroup)->OomKilled()));
}

}  // namespace
}  // namespace berth::runtime
