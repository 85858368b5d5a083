// Image references as Docker parses them (github.com/distribution/reference):
//
//   reference  := name [ ":" tag ] [ "@" digest ]
//   name       := [domain "/"] path-component ["/" path-component]*
//   domain     := host [":" port]        (recognised by a "." or ":" or "localhost",
//                                         or an uppercase letter, before the first "/")
//
// Normalisation fills in what the user may leave out: "busybox" is
// "docker.io/library/busybox", and a reference without tag or digest gets
// ":latest" (TagNameOnly). The familiar form drops what normalisation added,
// which is how Docker shows references to users.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth {

class Reference {
 public:
  // Parses a reference as the user wrote it, normalising the name
  // (reference.ParseNormalizedNamed). Errors are InvalidArgument with Docker's
  // text: "invalid reference format", "invalid reference format: repository
  // name must be lowercase", ...
  static absl::StatusOr<Reference> ParseNormalized(absl::string_view text);

  // Parses a reference without normalising it (reference.Parse): "busybox"
  // stays a name without domain.
  static absl::StatusOr<Reference> Parse(absl::string_view text);

  const std::string& domain() const { return domain_; }
  // The path below the domain: "library/busybox".
  const std::string& path() const { return path_; }
  const std::string& tag() const { return tag_; }
  // "sha256:<hex>" or empty.
  const std::string& digest() const { return digest_; }
  bool has_tag() const { return !tag_.empty(); }
  bool has_digest() const { return !digest_.empty(); }

  // "docker.io/library/busybox".
  std::string Name() const { return domain_.empty() ? path_ : domain_ + "/" + path_; }
  // "busybox", "example.com:5000/a/b".
  std::string FamiliarName() const;
  // "docker.io/library/busybox:latest@sha256:...".
  std::string String() const;
  // "busybox:latest", "example.com:5000/a/b:v1", "busybox@sha256:...".
  std::string FamiliarString() const;

  // A copy with ":latest" when the reference has neither tag nor digest.
  Reference TagNameOnly() const;
  // A copy with the tag replaced (digest kept). InvalidArgument "invalid tag
  // format" when tag is not a valid tag.
  absl::StatusOr<Reference> WithTag(absl::string_view tag) const;

  bool operator==(const Reference& other) const { return String() == other.String(); }

 private:
  std::string domain_;
  std::string path_;
  std::string tag_;
  std::string digest_;
};

// True for a valid tag ([\w][\w.-]{0,127}).
bool IsValidTag(absl::string_view tag);

// True for exactly 64 lowercase hex digits (an image ID without "sha256:").
bool IsFullHexId(absl::string_view text);

}  // namespace berth
