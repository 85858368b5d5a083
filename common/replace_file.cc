#include "common/replace_file.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/status.h"

namespace berth {

absl::Status ReplaceFile(const std::string& path, std::string_view content, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return LastErrnoStatus("create " + tmp);
  absl::Status status = WriteFull(fd, content.data(), content.size());
  close(fd);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = LastErrnoStatus("rename " + tmp);
  }
  if (!status.ok()) unlink(tmp.c_str());
  return status;
}

}  // namespace berth
