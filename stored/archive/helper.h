// The archive helper: a short-lived child of stored (its own binary re-run
// with "archive-helper <request>") that enters the container's filesystem
// view and does one stat, archive, extraction or export there.
//
// Why a process: the view must be exactly what the container sees, volumes
// and binds included, and nothing stored does may ever resolve a path
// outside it. For a running container the helper joins its mount namespace
// (setns needs a single-threaded process, which stored is not); for a
// stopped one it builds the view in a private mount namespace (overlay,
// then volumes and binds on top) and chroots into it. Every mount it makes
// dies with it, so a crash of stored or of the helper cannot leak a mount.
//
// Protocol: data on stdin (put) or stdout (get, export); on fd 3 one line
// "S <stat json>" before an archive, and last "OK" or "E <code> <message>".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "common/userns_remap.h"
#include "stored/archive/tar_io.h"
#include "stored/rootfs/overlay.h"

namespace berth::containerfs {

struct ViewMount {
  std::string source;  // host path
  std::string destination;
  bool read_only = false;
};

struct HelperRequest {
  // "stat", "get", "put" or "export".
  std::string op;
  std::string path;
  // > 0: the container runs; join the mount namespace of this process.
  int64_t pid = 0;
  // Otherwise: the root filesystem (mounted at merged unless it already is)
  // and the container's mounts on top of it.
  std::string merged;
  rootfs::OverlaySpec overlay;
  bool read_only_rootfs = false;
  std::vector<ViewMount> mounts;
  ExtractOptions extract;
  // userns-remap: the container's ids are these host ids (empty: none).
  std::vector<IdMapping> uids;
  std::vector<IdMapping> gids;
};

std::string EncodeRequest(const HelperRequest& request);
absl::StatusOr<HelperRequest> DecodeRequest(const std::string& text);

// The helper's main: runs the request and reports on fd 3. Returns the exit
// code.
int RunHelper(const std::string& encoded_request);

// The parent's side of one helper run.
class HelperProcess {
 public:
  // exe: the stored binary.
  static absl::StatusOr<std::unique_ptr<HelperProcess>> Start(const std::string& exe,
                                                              const HelperRequest& request);
  ~HelperProcess();

  // The helper's stdin (put): write the archive, then CloseInput.
  int input_fd() const { return input_.get(); }
  void CloseInput() { input_.Reset(); }
  // The helper's stdout (get, export).
  int output_fd() const { return output_.get(); }

  // Waits for the stat line of stat and get; the helper's error otherwise.
  absl::StatusOr<PathStat> ReadStat();
  // Waits for the helper and returns its result.
  absl::Status Finish();

 private:
  HelperProcess() = default;
  absl::StatusOr<std::string> ReadLine();

  pid_t pid_ = -1;
  UniqueFd input_;
  UniqueFd output_;
  UniqueFd report_;
  std::string buffered_;
  bool finished_ = false;
};

}  // namespace berth::containerfs
