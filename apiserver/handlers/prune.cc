#include "apiserver/handlers/prune.h"

#include "absl/strings/str_split.h"
#include "apiserver/filters.h"
#include "apiserver/handlers/container_events.h"
#include "apiserver/handlers/images.h"
#include "apiserver/handlers/util.h"
#include "apiserver/timefmt.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::apiserver {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;

std::map<std::string, std::string> LabelsOf(const runtime::v1::Container& container) {
  std::map<std::string, std::string> labels;
  absl::StatusOr<Json> config = ParseJson(container.config_json());
  if (!config.ok() || !config->contains("Labels") || !(*config)["Labels"].is_object()) {
    return labels;
  }
  for (const auto& [key, value] : (*config)["Labels"].items()) {
    if (value.is_string()) labels[key] = value.get<std::string>();
  }
  return labels;
}

// label!=k or label!=k=v: true when the container has that label (or value).
bool HasExcludedLabel(const Filters& filters, const std::map<std::string, std::string>& labels) {
  for (const std::string& spec : filters.Get("label!")) {
    std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits('=', 1));
    auto it = labels.find(parts[0]);
    if (it == labels.end()) continue;
    if (parts.size() == 1 || it->second == parts[1]) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ContainersToPrune(
    const std::vector<runtime::v1::Container>& containers, const std::string& filters_json,
    int64_t now_seconds) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(filters_json));
  RETURN_IF_ERROR(filters.Validate({"until", "label", "label!"}));
  int64_t until = 0;
  for (const std::string& value : filters.Get("until")) {
    ASSIGN_OR_RETURN(until, ParseFilterTime(value, now_seconds));
  }
  std::vector<std::string> ids;
  for (const runtime::v1::Container& container : containers) {
    const std::string& status = container.state().status();
    if (status != "created" && status != "exited" && status != "dead") continue;
    if (until > 0 && container.created() / kNanosPerSecond >= until) continue;
    std::map<std::string, std::string> labels = LabelsOf(container);
    if (!filters.MatchLabels(labels) || HasExcludedLabel(filters, labels)) continue;
    ids.push_back(container.id());
  }
  return ids;
}

absl::Status PruneContainers(ContainerBackend* containers, Exchange& exchange) {
  ASSIGN_OR_RETURN(std::vector<runtime::v1::Container> all, containers->ListContainers(true));
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ContainersToPrune(all, exchange.request().query.Get("filters"),
                                     NowNanos() / kNanosPerSecond));
  Json deleted = Json::array();
  for (const std::string& id : ids) {
    runtime::v1::RemoveContainerRequest request;
    request.set_id(id);
    absl::Status removed = containers->RemoveContainer(request);
    // One that started or went meanwhile is not an error of the prune.
    if (removed.ok()) deleted.push_back(id);
  }
  RecordContainerEvent(containers, "", "prune", {{"reclaimed", "0"}});
  ReplyJson(
      exchange, 200,
      {{"ContainersDeleted", deleted.empty() ? Json(nullptr) : deleted}, {"SpaceReclaimed", 0}});
  return absl::OkStatus();
}

}  // namespace berth::apiserver
