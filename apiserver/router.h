// Maps (method, path) to a handler. A pattern holds at most one `{name}`,
// which matches any non-empty text including '/' and ':' (image references
// arrive unescaped: DELETE /images/example.com/bb:t1), anchored by the literal
// prefix and suffix around it. Literal routes win over parameterised ones, and
// longer suffixes over shorter ones, so /images/json is not an image called
// "json" and /images/a/b/history is the history of "a/b".
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "apiserver/http/exchange.h"

namespace berth::apiserver {

using Handler = std::function<absl::Status(Exchange& exchange, const std::string& name)>;

class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  struct Match {
    const Handler* handler;
    std::string name;
  };
  std::optional<Match> Find(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::string prefix;
    std::string suffix;
    bool has_param;
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace berth::apiserver
