#include "netd/dns/dns_observer.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/status.h"

namespace berth::netd::dns {
namespace {

// A file name: container IDs are hex, names [A-Za-z0-9_.-].
bool SafeFileName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

DnsObserver::DnsObserver(EventLoop* loop, std::string state_dir, std::string host_resolv_conf,
                         ServerOptions options)
    : dir_(state_dir + "/dns"),
      host_resolv_conf_(std::move(host_resolv_conf)),
      servers_(std::make_unique<DnsServers>(loop, this, std::move(options))) {}

DnsObserver::~DnsObserver() { servers_.reset(); }

absl::Status DnsObserver::SetUpstreams(const std::string& container_id,
                                       const std::vector<std::string>& servers) {
  if (!SafeFileName(container_id)) {
    return absl::InvalidArgumentError("invalid container ID \"" + container_id + "\"");
  }
  const std::string path = dir_ + "/" + container_id;
  if (servers.empty()) {
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return LastErrnoStatus("unlink " + path);
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(MakeDirs(dir_, 0700));
  return WriteFileAtomic(path, absl::StrJoin(servers, "\n") + "\n");
}

std::vector<std::string> DnsObserver::UpstreamsOf(const std::string& container_id) {
  absl::StatusOr<std::string> text = ReadFile(dir_ + "/" + container_id);
  if (text.ok()) {
    std::vector<std::string> servers = absl::StrSplit(*text, '\n', absl::SkipWhitespace());
    if (!servers.empty()) return servers;
  }
  return ReadNameservers(host_resolv_conf_);
}

absl::Status DnsObserver::Reconcile(const std::set<std::string>& live) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(dir_);
  if (!names.ok()) return absl::IsNotFound(names.status()) ? absl::OkStatus() : names.status();
  for (const std::string& name : *names) {
    if (live.count(name) != 0) continue;
    const std::string path = dir_ + "/" + name;
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return LastErrnoStatus("unlink " + path);
  }
  return absl::OkStatus();
}

absl::Status DnsObserver::NetworkCreated(const Network& network) {
  std::lock_guard<std::mutex> lock(mu_);
  networks_[network.id] =
      NetworkInfo{network.name, network.HasAddresses() && !network.Predefined()};
  return absl::OkStatus();
}

void DnsObserver::NetworkRemoved(const Network& network) {
  std::lock_guard<std::mutex> lock(mu_);
  networks_.erase(network.id);
}

bool DnsObserver::HasUserEndpointLocked(const std::string& container_id) {
  auto it = endpoints_.find(container_id);
  if (it == endpoints_.end()) return false;
  for (const auto& [network_id, endpoint] : it->second) {
    auto network = networks_.find(network_id);
    if (network != networks_.end() && network->second.user_defined) return true;
  }
  return false;
}

absl::Status DnsObserver::EndpointCreated(const Network& network, const Endpoint& endpoint,
                                          const std::string& netns_path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (networks_.count(network.id) == 0) {
      networks_[network.id] =
          NetworkInfo{network.name, network.HasAddresses() && !network.Predefined()};
    }
    endpoints_[endpoint.container_id][network.id] = endpoint;
    if (!HasUserEndpointLocked(endpoint.container_id)) return absl::OkStatus();
  }
  // Not under mu_: the loop thread answers queries under it while Start
  // waits for the loop.
  if (servers_->Serving(endpoint.container_id)) return absl::OkStatus();
  absl::Status started =
      servers_->Start({endpoint.container_id, netns_path, UpstreamsOf(endpoint.container_id)});
  if (started.ok()) return absl::OkStatus();
  if (replaying_) {
    spdlog::warn("container {}: no embedded DNS server: {}", endpoint.container_id,
                 started.ToString());
    return absl::OkStatus();
  }
  std::lock_guard<std::mutex> lock(mu_);
  endpoints_[endpoint.container_id].erase(network.id);
  return started;
}

void DnsObserver::EndpointRemoved(const Network& network, const Endpoint& endpoint) {
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = endpoints_.find(endpoint.container_id);
    if (it != endpoints_.end()) {
      it->second.erase(network.id);
      if (it->second.empty()) endpoints_.erase(it);
    }
    stop = !HasUserEndpointLocked(endpoint.container_id);
  }
  if (stop) servers_->Stop(endpoint.container_id);
}

void DnsObserver::EndpointRenamed(const Network& network, const Endpoint& endpoint) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoints_.find(endpoint.container_id);
  if (it == endpoints_.end()) return;
  auto known = it->second.find(network.id);
  if (known != it->second.end()) known->second = endpoint;
}

std::vector<const Endpoint*> DnsObserver::MatchLocked(const std::string& asker,
                                                      const std::string& name) {
  std::vector<const Endpoint*> found;
  auto mine = endpoints_.find(asker);
  if (mine == endpoints_.end()) return found;
  for (const auto& [network_id, own] : mine->second) {
    auto network = networks_.find(network_id);
    if (network == networks_.end() || !network->second.user_defined) continue;
    // "web" or "web.<network name>".
    std::string wanted = name;
    const std::string suffix = "." + absl::AsciiStrToLower(network->second.name);
    if (wanted.size() > suffix.size() &&
        wanted.compare(wanted.size() - suffix.size(), suffix.size(), suffix) == 0) {
      wanted.resize(wanted.size() - suffix.size());
    }
    // The asker's --link aliases on this network name their target for it
    // alone.
    std::string linked;
    for (const std::string& link : own.links) {
      const size_t colon = link.find(':');
      if (colon != std::string::npos && absl::AsciiStrToLower(link.substr(colon + 1)) == wanted) {
        linked = absl::AsciiStrToLower(link.substr(0, colon));
      }
    }
    for (const auto& [container_id, attached] : endpoints_) {
      auto endpoint = attached.find(network_id);
      if (endpoint == attached.end()) continue;
      const std::string container_name = absl::AsciiStrToLower(endpoint->second.container_name);
      bool match = container_name == wanted || (!linked.empty() && container_name == linked) ||
                   (wanted.size() == 12 && container_id.compare(0, 12, wanted) == 0);
      for (const std::string& alias : endpoint->second.aliases) {
        match = match || absl::AsciiStrToLower(alias) == wanted;
      }
      if (match) found.push_back(&endpoint->second);
    }
  }
  return found;
}

std::vector<uint32_t> DnsObserver::Lookup(const std::string& asker, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<uint32_t> addresses;
  for (const Endpoint* endpoint : MatchLocked(asker, name)) {
    if (std::find(addresses.begin(), addresses.end(), endpoint->address) == addresses.end()) {
      addresses.push_back(endpoint->address);
    }
  }
  return addresses;
}

std::vector<std::string> DnsObserver::Lookup6(const std::string& asker, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> addresses;
  for (const Endpoint* endpoint : MatchLocked(asker, name)) {
    if (IsUnset(endpoint->address6)) continue;
    std::string raw(endpoint->address6.begin(), endpoint->address6.end());
    if (std::find(addresses.begin(), addresses.end(), raw) == addresses.end()) {
      addresses.push_back(std::move(raw));
    }
  }
  return addresses;
}

std::string DnsObserver::ReverseLookup(const std::string& asker, uint32_t address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto mine = endpoints_.find(asker);
  if (mine == endpoints_.end()) return "";
  for (const auto& [network_id, unused] : mine->second) {
    auto network = networks_.find(network_id);
    if (network == networks_.end() || !network->second.user_defined) continue;
    for (const auto& [container_id, attached] : endpoints_) {
      auto endpoint = attached.find(network_id);
      if (endpoint != attached.end() && endpoint->second.address == address) {
        return endpoint->second.container_name + "." + network->second.name;
      }
    }
  }
  return "";
}

}  // namespace berth::netd::dns
