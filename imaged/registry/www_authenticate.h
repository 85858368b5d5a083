// The WWW-Authenticate challenges a registry answers 401 with (RFC 7235), e.g.
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"
//   Basic realm="Registry Realm"
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::imaged::registry {

struct Challenge {
  // Lower-cased: "basic", "bearer".
  std::string scheme;
  // Parameter names lower-cased, values unquoted.
  std::map<std::string, std::string> params;

  std::string Param(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? "" : it->second;
  }
};

// Every challenge in a header value; malformed parts are skipped rather than
// failing, as a client should get as far as it can with what it understood.
std::vector<Challenge> ParseWwwAuthenticate(absl::string_view header);

}  // namespace berth::imaged::registry
