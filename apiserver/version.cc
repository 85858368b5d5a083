#include "apiserver/version.h"

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::apiserver {
namespace {

std::vector<int> VersionParts(absl::string_view version) {
  std::vector<int> parts;
  for (absl::string_view piece : absl::StrSplit(version, '.')) {
    int value = 0;
    if (!absl::SimpleAtoi(piece, &value)) value = 0;
    parts.push_back(value);
  }
  return parts;
}

bool IsVersion(absl::string_view text) {
  if (text.empty()) return false;
  bool dot = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (i == 0 || i + 1 == text.size() || text[i - 1] == '.') return false;
      dot = true;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dot;
}

}  // namespace

int CompareVersions(absl::string_view a, absl::string_view b) {
  std::vector<int> pa = VersionParts(a), pb = VersionParts(b);
  size_t n = std::max(pa.size(), pb.size());
  for (size_t i = 0; i < n; ++i) {
    int x = i < pa.size() ? pa[i] : 0;
    int y = i < pb.size() ? pb[i] : 0;
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

absl::StatusOr<VersionedPath> StripApiVersion(absl::string_view path) {
  if (path.size() > 2 && path[0] == '/' && path[1] == 'v') {
    size_t end = path.find('/', 2);
    absl::string_view candidate =
        path.substr(2, end == absl::string_view::npos ? absl::string_view::npos : end - 2);
    if (IsVersion(candidate)) {
      std::string version(candidate);
      if (CompareVersions(version, kMaxApiVersion) > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("client version ", version,
                         " is too new. Maximum supported API version is ", kMaxApiVersion));
      }
      if (CompareVersions(version, kMinApiVersion) < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "client version ", version, " is too old. Minimum supported API version is ",
            kMinApiVersion, ", please upgrade your client to a newer version"));
      }
      std::string rest =
          end == absl::string_view::npos ? std::string("/") : std::string(path.substr(end));
      return VersionedPath{version, rest};
    }
  }
  return VersionedPath{kMaxApiVersion, std::string(path)};
}

}  // namespace berth::apiserver
