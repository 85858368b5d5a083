// The owner docker cp -a gives copied files in a container that runs as a
// user (Config.User): "name", "uid", "name:group" or "uid:gid", read from the
// container's own /etc/passwd and /etc/group as its processes would see
// them. (Moby looks the name up on the host, which names another user or
// none; the container's files are what the name means to the container, and
// what runtimed resolves its processes' user from.)
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"

namespace berth::containerfs {

struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// From the texts of passwd and group files: a numeric user missing from
// passwd gets gid 0, as runc does; unknown names are InvalidArgument (not
// NotFound, which docker cp reports as a missing path) in runc's words
// ("unable to find user app: no matching entries in passwd file").
absl::StatusOr<Owner> ResolveOwner(const std::string& user, const std::string& passwd,
                                   const std::string& group);

// The same with the files read beneath root_fd (missing files are empty).
absl::StatusOr<Owner> ResolveOwnerInRoot(int root_fd, const std::string& user);

}  // namespace berth::containerfs
