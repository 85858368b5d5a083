// How the embedded DNS server treats one query, without sockets: answer it
// from the names of the asker's networks, answer it with an error, or pass it
// on to the upstream resolvers.
#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "netd/dns/names.h"

namespace berth::netd::dns {

// Docker's TTL for the embedded server's answers.
inline constexpr uint32_t kLocalTtl = 600;
// A reply over UDP without EDNS fits in 512 bytes (RFC 1035).
inline constexpr size_t kUdpLimit = 512;

struct Decision {
  enum Action {
    // Send `reply`.
    kReply,
    // Send the query unchanged to an upstream resolver, its answer back.
    kForward,
    // Not a query worth an answer (a response, or not even a header).
    kDrop,
  };
  Action action = kDrop;
  std::string reply;
};

// `max_size`: the largest reply the transport carries; a longer local answer
// is cut to fit, flagged TC. Names of the asker's networks get A and AAAA
// records (or an empty NOERROR for other types), their addresses' in-addr.arpa names PTR
// records; single-label names that are not theirs
// get NXDOMAIN without leaving the host (they cannot be anyone's on the
// internet); everything else is forwarded, or SERVFAIL with no upstream.
Decision Decide(absl::string_view query, const std::string& asker, NameSource* names,
                bool have_upstreams, size_t max_size);

// The SERVFAIL answer to `query` (all upstreams failed); empty when it does
// not parse.
std::string ServFail(absl::string_view query);

}  // namespace berth::netd::dns
