#include "common/reference.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth {
namespace {

constexpr char kDefaultDomain[] = "docker.io";
constexpr char kLegacyDefaultDomain[] = "index.docker.io";
constexpr char kOfficialRepoPrefix[] = "library/";
constexpr size_t kNameTotalLengthMax = 255;
// std::regex recurses per character; bound the input well above any valid
// reference (255-byte name, 128-byte tag, a long digest) so it cannot blow the stack.
constexpr size_t kReferenceLengthMax = 1024;

// The grammar of distribution/reference/regexp.go.
const std::string& PathComponent() {
  static const std::string kPattern = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
  return kPattern;
}

const std::string& DomainAndPort() {
  static const std::string kComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
  static const std::string kPattern =
      "(?:" + kComponent + "(?:\\." + kComponent + ")*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?";
  return kPattern;
}

const std::string& TagPattern() {
  static const std::string kPattern = "[\\w][\\w.-]{0,127}";
  return kPattern;
}

const std::regex& ReferenceRegex() {
  static const std::regex kRegex("^((?:" + DomainAndPort() + "/)?" + PathComponent() + "(?:/" +
                                 PathComponent() + ")*)(?::(" + TagPattern() +
                                 "))?(?:@([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*" +
                                 ":[0-9a-fA-F]{32,}))?$");
  return kRegex;
}

const std::regex& AnchoredNameRegex() {
  static const std::regex kRegex("^(?:(" + DomainAndPort() + ")/)?(" + PathComponent() + "(?:/" +
                                 PathComponent() + ")*)$");
  return kRegex;
}

absl::Status InvalidFormat(absl::string_view detail = "") {
  if (detail.empty()) return absl::InvalidArgumentError("invalid reference format");
  return absl::InvalidArgumentError(absl::StrCat("invalid reference format: ", detail));
}

}  // namespace

bool IsValidTag(absl::string_view tag) {
  static const std::regex kRegex("^" + TagPattern() + "$");
  return tag.size() <= 128 && std::regex_match(std::string(tag), kRegex);
}

bool IsFullHexId(absl::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

absl::StatusOr<Reference> Reference::Parse(absl::string_view text) {
  std::string input(text);
  if (input.size() > kReferenceLengthMax) return InvalidFormat();
  std::smatch match;
  if (!std::regex_match(input, match, ReferenceRegex())) {
    if (input.empty()) {
      return absl::InvalidArgumentError("repository name must have at least one component");
    }
    if (std::regex_match(absl::AsciiStrToLower(input), ReferenceRegex())) {
      return InvalidFormat("repository name must be lowercase");
    }
    return InvalidFormat();
  }
  std::string name = match[1].str();
  if (name.size() > kNameTotalLengthMax) {
    return absl::InvalidArgumentError("repository name must not be more than 255 characters");
  }
  Reference reference;
  reference.tag_ = match[2].str();
  reference.digest_ = match[3].str();
  if (!reference.digest_.empty()) {
    absl::string_view digest = reference.digest_;
    if (!absl::StartsWith(digest, "sha256:")) {
      return absl::InvalidArgumentError("unsupported digest algorithm");
    }
    if (!IsFullHexId(digest.substr(7))) {
      return absl::InvalidArgumentError("invalid checksum digest format");
    }
  }
  std::smatch name_match;
  if (!std::regex_match(name, name_match, AnchoredNameRegex())) return InvalidFormat();
  reference.domain_ = name_match[1].str();
  reference.path_ = name_match[2].str();
  return reference;
}

absl::StatusOr<Reference> Reference::ParseNormalized(absl::string_view text) {
  if (IsFullHexId(text)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid repository name (", text, "), cannot specify 64-byte hexadecimal strings"));
  }
  std::string domain = kDefaultDomain;
  std::string remainder(text);
  size_t slash = remainder.find('/');
  if (slash != std::string::npos) {
    std::string first = remainder.substr(0, slash);
    bool looks_like_domain = first.find_first_of(".:") != std::string::npos ||
                             first == "localhost" || absl::AsciiStrToLower(first) != first;
    if (looks_like_domain) {
      domain = first;
      remainder = remainder.substr(slash + 1);
    }
  }
  if (domain == kLegacyDefaultDomain) domain = kDefaultDomain;
  if (domain == kDefaultDomain && remainder.find('/') == std::string::npos) {
    remainder = kOfficialRepoPrefix + remainder;
  }
  std::string remote_name = remainder.substr(0, remainder.find(':'));
  if (absl::AsciiStrToLower(remote_name) != remote_name) {
    return InvalidFormat("repository name must be lowercase");
  }
  return Parse(domain + "/" + remainder);
}

std::string Reference::FamiliarName() const {
  if (domain_ != kDefaultDomain) return Name();
  if (absl::StartsWith(path_, kOfficialRepoPrefix)) {
    std::string rest = path_.substr(sizeof(kOfficialRepoPrefix) - 1);
    if (rest.find('/') == std::string::npos) return rest;
  }
  return path_;
}

std::string Reference::String() const {
  std::string out = Name();
  if (!tag_.empty()) absl::StrAppend(&out, ":", tag_);
  if (!digest_.empty()) absl::StrAppend(&out, "@", digest_);
  return out;
}

std::string Reference::FamiliarString() const {
  std::string out = FamiliarName();
  if (!tag_.empty()) absl::StrAppend(&out, ":", tag_);
  if (!digest_.empty()) absl::StrAppend(&out, "@", digest_);
  return out;
}

Reference Reference::TagNameOnly() const {
  Reference copy = *this;
  if (copy.tag_.empty() && copy.digest_.empty()) copy.tag_ = "latest";
  return copy;
}

absl::StatusOr<Reference> Reference::WithTag(absl::string_view tag) const {
  if (!IsValidTag(tag)) return absl::InvalidArgumentError("invalid tag format");
  Reference copy = *this;
  copy.tag_ = std::string(tag);
  return copy;
}

}  // namespace berth
