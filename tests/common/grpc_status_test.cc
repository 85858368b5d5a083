#include "common/grpc_status.h"

#include <catch2/catch.hpp>
#include <string>

namespace berth {

TEST_CASE("gRPC and absl status codes map both ways", "[grpc_status]") {
  CHECK(ToGrpcStatus(absl::NotFoundError("x")).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  absl::Status back = FromGrpcStatus(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, "dup"));
  CHECK(back.code() == absl::StatusCode::kAlreadyExists);
  CHECK(std::string(back.message()) == "dup");
}

TEST_CASE("a sibling that cannot answer is named", "[grpc_status]") {
  absl::Status down =
      FromSiblingStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed"), "stored");
  CHECK(down.code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(down.message()) == "stored is unavailable: connect failed");
  // runtimed reporting that stored is down keeps naming stored, not runtimed.
  absl::Status nested = FromSiblingStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "stored is unavailable: x"), "runtimed");
  CHECK(std::string(nested.message()) == "stored is unavailable: x");
  absl::Status slow =
      FromSiblingStatus(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "late"), "imaged");
  CHECK(slow.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(std::string(slow.message()) == "imaged did not answer in time: late");
  // Other errors pass through untouched.
  absl::Status missing =
      FromSiblingStatus(grpc::Status(grpc::StatusCode::NOT_FOUND, "No such image: x"), "imaged");
  CHECK(missing.code() == absl::StatusCode::kNotFound);
  CHECK(std::string(missing.message()) == "No such image: x");
}

}  // namespace berth
