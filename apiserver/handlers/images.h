// /images/...: load, import, pull, push, list, inspect, history, tag, remove,
// save; and /auth (docker login), which is the registry's business too.
#pragma once

#include "apiserver/backends/backends.h"
#include "apiserver/filters.h"
#include "apiserver/router.h"

namespace berth::apiserver {

class ImageHandlers {
 public:
  ImageHandlers(ImageBackend* images, ContainerBackend* containers)
      : images_(images), containers_(containers) {}

  void Register(Router& router);

  absl::Status Load(Exchange& exchange);
  absl::Status Create(Exchange& exchange);
  absl::Status List(Exchange& exchange);
  absl::Status Inspect(Exchange& exchange, const std::string& name);
  absl::Status History(Exchange& exchange, const std::string& name);
  absl::Status Tag(Exchange& exchange, const std::string& name);
  absl::Status Remove(Exchange& exchange, const std::string& name);
  // GET /images/get?names=a&names=b and GET /images/{name}/get.
  absl::Status Save(Exchange& exchange, const std::vector<std::string>& names);
  // POST /images/{name}/push?tag=
  absl::Status Push(Exchange& exchange, const std::string& name);
  // POST /auth {"username","password","serveraddress"}.
  absl::Status Auth(Exchange& exchange);
  // GET /distribution/{name}/json.
  absl::Status InspectDistribution(Exchange& exchange, const std::string& name);
  // POST /images/prune?filters={"dangling":["false"],"until":["24h"],"label":[...]}.
  absl::Status Prune(Exchange& exchange);

 private:
  absl::Status Import(Exchange& exchange);
  absl::Status Pull(Exchange& exchange);

  ImageBackend* images_;
  ContainerBackend* containers_;
};

// Splits "repo:tag" (the tag being after the last '/') when tag is empty.
void SplitRepoTag(std::string* repo, std::string* tag);

// X-Registry-Auth: base64url JSON {"username","password","auth","serveraddress",
// "identitytoken","registrytoken"}; empty fields when absent or malformed
// (Docker too treats a bad header as no credentials).
image::v1::RegistryAuth ParseRegistryAuth(const std::string& header);

// Tells imaged which containers use which images (for the removal rules).
void AddImageUsers(const std::vector<runtime::v1::Container>& containers,
                   image::v1::RemoveImageRequest* request);

// Moby's reference filter: pattern matches "name:tag" or the bare name.
bool ReferenceMatches(const std::string& pattern, const std::string& repo_tag);

// Docker's timestamps in filters (`until`, as Go's timetypes.GetTimestamp):
// a Go duration before now ("24h", "1h30m"), unix seconds ("1700000000[.5]"),
// RFC 3339 ("2024-01-02T03:04:05Z") or a date ("2024-01-02", UTC). Unix seconds.
absl::StatusOr<int64_t> ParseFilterTime(const std::string& value, int64_t now_seconds);

// The images `docker image prune` removes, as Moby picks them: with
// dangling_only the untagged ones, else all; never an untagged image that
// is another's parent (removing its child prunes it); only those created
// before `until` (0: any) whose labels pass the label/label! filters.
// Containers' images are left to the removal's own refusal.
std::vector<image::v1::Image> PruneCandidates(const std::vector<image::v1::Image>& images,
                                              bool dangling_only, int64_t until,
                                              const Filters& filters);

}  // namespace berth::apiserver
