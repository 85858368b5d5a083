#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "apiserver/http/exchange.h"

namespace berth::apiserver {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string UrlDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Query Query::Parse(absl::string_view raw) {
  Query query;
  for (absl::string_view part : absl::StrSplit(raw, '&', absl::SkipEmpty())) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      query.Add(UrlDecode(part), "");
    } else {
      query.Add(UrlDecode(part.substr(0, eq)), UrlDecode(part.substr(eq + 1)));
    }
  }
  return query;
}

bool Query::Has(absl::string_view key) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return true;
  }
  return false;
}

std::string Query::Get(absl::string_view key, absl::string_view fallback) const {
  for (const auto& [k, v] : entries_) {
    if (k == key) return v;
  }
  return std::string(fallback);
}

std::vector<std::string> Query::GetAll(absl::string_view key) const {
  std::vector<std::string> values;
  for (const auto& [k, v] : entries_) {
    if (k == key) values.push_back(v);
  }
  return values;
}

bool Query::GetBool(absl::string_view key) const {
  std::string value = absl::AsciiStrToLower(Get(key));
  return !(value.empty() || value == "0" || value == "no" || value == "false" || value == "none");
}

}  // namespace berth::apiserver
