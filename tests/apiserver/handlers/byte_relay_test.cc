// The relay behind docker export, save and cp (GET archive): when a daemon's
// failure is still an HTTP error, when it cuts the body, and what a client
// hanging up does to the daemon's stream.
#include "apiserver/handlers/byte_relay.h"

#include <catch2/catch.hpp>

#include "tests/apiserver/fakes.h"

namespace berth::apiserver {
namespace {

using testing::FakeExchange;
using testing::QueueStream;
using testing::SharedStream;
using Chunk = types::v1::Chunk;

Chunk MakeChunk(const std::string& data) {
  Chunk chunk;
  chunk.set_data(data);
  return chunk;
}

struct Relay {
  std::shared_ptr<QueueStream<Chunk>> daemon = std::make_shared<QueueStream<Chunk>>();
  FakeExchange exchange{"GET", "/containers/c/export"};
  ByteRelay<Chunk> relay{exchange, std::make_unique<SharedStream<Chunk>>(daemon)};
};

TEST_CASE("the whole stream becomes a chunked 200 body", "[byte_relay]") {
  Relay r;
  r.daemon->Push(MakeChunk("abc"));
  r.daemon->Push(MakeChunk("def"));
  r.daemon->Close();
  REQUIRE(r.relay.RelayAll("application/x-tar", "test").ok());
  CHECK(r.exchange.status == 200);
  CHECK(r.exchange.content_type == "application/x-tar");
  CHECK(r.exchange.chunked);
  CHECK(r.exchange.body == "abcdef");
  CHECK(r.exchange.ended);
  CHECK_FALSE(r.exchange.raw_closed);
}

TEST_CASE("a failure before the first byte is the handler's error", "[byte_relay]") {
  Relay r;
  r.daemon->Close(absl::NotFoundError("No such image: x"));
  absl::Status status = r.relay.RelayAll("application/x-tar", "test");
  CHECK(absl::IsNotFound(status));
  CHECK(r.exchange.status == 0);
}

TEST_CASE("an empty stream is an empty body", "[byte_relay]") {
  Relay r;
  r.daemon->Close();
  REQUIRE(r.relay.RelayAll("application/octet-stream", "test").ok());
  CHECK(r.exchange.status == 200);
  CHECK(r.exchange.body.empty());
  CHECK(r.exchange.ended);
}

TEST_CASE("a failure midway cuts the connection instead of ending the body", "[byte_relay]") {
  Relay r;
  r.daemon->Push(MakeChunk("abc"));
  r.daemon->Close(absl::InternalError("disk gone"));
  REQUIRE(r.relay.RelayAll("application/x-tar", "test").ok());
  CHECK(r.exchange.status == 200);
  CHECK(r.exchange.body == "abc");
  CHECK(r.exchange.raw_closed);
  CHECK_FALSE(r.exchange.ended);
}

TEST_CASE("a client that stops reading cancels the daemon's stream", "[byte_relay]") {
  Relay r;
  r.daemon->Push(MakeChunk("abc"));
  r.daemon->Push(MakeChunk("def"));
  r.exchange.client_gone = true;
  REQUIRE(r.relay.RelayAll("application/x-tar", "test").ok());
  CHECK(r.daemon->cancelled());
  CHECK(r.exchange.body == "abc");
  CHECK_FALSE(r.exchange.ended);
  CHECK_FALSE(r.exchange.raw_closed);
}

TEST_CASE("a client that hangs up before the relay starts cancels the stream", "[byte_relay]") {
  Relay r;
  r.daemon->Push(MakeChunk("abc"));
  r.exchange.Disconnect();
  CHECK(r.daemon->cancelled());
  CHECK(absl::IsCancelled(r.relay.RelayAll("application/x-tar", "test")));
}

TEST_CASE("after a head read by the caller, the rest is the body", "[byte_relay]") {
  Relay r;
  r.daemon->Push(MakeChunk("head"));
  r.daemon->Push(MakeChunk("body"));
  r.daemon->Close();
  Chunk head;
  REQUIRE(r.relay.stream().Read(&head));
  CHECK(head.data() == "head");
  REQUIRE(r.relay.RelayRest("application/x-tar", "test").ok());
  CHECK(r.exchange.body == "body");
  CHECK(r.exchange.ended);
}

}  // namespace
}  // namespace berth::apiserver
