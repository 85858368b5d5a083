// Replacing a file that can be made again: a temporary beside it, renamed into
// place, without fsync.
//
// WriteFileAtomic (fs.h) fsyncs the file and its directory so the new content
// survives a power loss; each fsync is a journal commit, milliseconds when the
// disk is busy. Files under the exec root (bundles, exit records: gone with a
// reboot anyway) and files rewritten at every container start (hostname, hosts,
// resolv.conf) need only what the rename gives: a reader, or the writer's
// crash, sees the old content or the new, never a torn file.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace berth {

absl::Status ReplaceFile(const std::string& path, std::string_view content, mode_t mode = 0644);

}  // namespace berth
