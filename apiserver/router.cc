#include "apiserver/router.h"

#include <algorithm>
#include <cassert>

namespace berth::apiserver {

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  Route route{method, pattern, "", false, std::move(handler)};
  size_t open = pattern.find('{');
  if (open != std::string::npos) {
    size_t close = pattern.find('}', open);
    assert(close != std::string::npos);
    route.prefix = pattern.substr(0, open);
    route.suffix = pattern.substr(close + 1);
    route.has_param = true;
  }
  routes_.push_back(std::move(route));
  // Keep the matching order stable: literal routes first, then the most
  // specific (longest) suffixes.
  std::stable_sort(routes_.begin(), routes_.end(), [](const Route& a, const Route& b) {
    if (a.has_param != b.has_param) return !a.has_param;
    return a.suffix.size() > b.suffix.size();
  });
}

std::optional<Router::Match> Router::Find(const std::string& method,
                                          const std::string& path) const {
  for (const Route& route : routes_) {
    if (route.method != method) continue;
    if (!route.has_param) {
      if (path == route.prefix) return Match{&route.handler, ""};
      continue;
    }
    size_t fixed = route.prefix.size() + route.suffix.size();
    if (path.size() <= fixed) continue;
    if (path.compare(0, route.prefix.size(), route.prefix) != 0) continue;
    if (path.compare(path.size() - route.suffix.size(), route.suffix.size(), route.suffix) != 0) {
      continue;
    }
    return Match{&route.handler, path.substr(route.prefix.size(), path.size() - fixed)};
  }
  return std::nullopt;
}

}  // namespace berth::apiserver
