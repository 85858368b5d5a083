#include "runtimed/shim/memory.h"

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

namespace berth::runtime {
namespace {

// Creating the container runs most of the (static) binary once: spec
// parsing, mounts, cgroups. Those code pages would stay counted in the
// shim's resident set for the container's whole life, so they are dropped;
// the event loop faults back in the little it uses. Only read-only mappings
// of the executable that hold no private (relocated, copy-on-write) page
// qualify: their pages are re-read from the file, nothing is lost.
void ReleaseStartupPages() {
  FILE* smaps = fopen("/proc/self/smaps", "re");
  if (smaps == nullptr) return;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) {
    fclose(smaps);
    return;
  }
  exe[n] = '\0';
  char line[4352];
  unsigned long start = 0, end = 0;
  bool candidate = false;
  while (fgets(line, sizeof(line), smaps) != nullptr) {
    unsigned long a, b;
    char perms[8], path[4096] = "";
    if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &a, &b, perms, path) >= 3) {
      start = a;
      end = b;
      candidate = strcmp(path, exe) == 0 && perms[1] != 'w' && perms[3] == 'p';
      continue;
    }
    unsigned long anonymous;
    if (candidate && sscanf(line, "Anonymous: %lu kB", &anonymous) == 1) {
      if (anonymous == 0) {
        madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED);
      }
      candidate = false;
    }
  }
  fclose(smaps);
}

}  // namespace

void ReleaseUnusedMemory() {
  // Creating a container or an exec parses config.json and compiles the
  // seccomp filter: freed heap stays in the process until trimmed.
  malloc_trim(0);
  ReleaseStartupPages();
}

}  // namespace berth::runtime
