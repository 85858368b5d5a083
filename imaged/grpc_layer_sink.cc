#include "imaged/grpc_layer_sink.h"

#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_server.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::imaged {
namespace {

namespace storage = berth::storage::v1;

constexpr size_t kChunkSize = 1 << 20;
constexpr auto kShortCallTimeout = std::chrono::seconds(60);

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + kShortCallTimeout);
}

}  // namespace

GrpcLayerSink::GrpcLayerSink(const std::string& socket_path)
    : stub_(storage::StorageService::NewStub(UnixChannel(socket_path))) {}

absl::StatusOr<LayerStat> GrpcLayerSink::StatLayer(const std::string& chain_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  storage::StatLayerRequest request;
  request.set_chain_id(chain_id);
  storage::StatLayerResponse response;
  grpc::Status status = stub_->StatLayer(&context, request, &response);
  if (!status.ok()) {
    // stored may answer NotFound for an unknown chain rather than exists=false.
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) return LayerStat{};
    return FromSiblingStatus(status, "stored");
  }
  return LayerStat{response.exists(), response.size()};
}

absl::StatusOr<int64_t> GrpcLayerSink::ApplyLayer(const LayerHeader& header, ByteSource& tar) {
  grpc::ClientContext context;
  storage::ApplyLayerResponse response;
  std::unique_ptr<grpc::ClientWriter<storage::ApplyLayerRequest>> writer =
      stub_->ApplyLayer(&context, &response);
  storage::ApplyLayerRequest request;
  request.mutable_header()->set_chain_id(header.chain_id);
  request.mutable_header()->set_parent_chain_id(header.parent_chain_id);
  request.mutable_header()->set_diff_id(header.diff_id);
  const bool parent_pending = static_cast<bool>(header.wait_for_parent);
  request.mutable_header()->set_parent_pending(parent_pending);
  bool open = writer->Write(request);
  absl::Status read_status;
  std::vector<char> buffer(kChunkSize);
  while (open) {
    // Fill whole chunks: the source may return less than asked.
    size_t filled = 0;
    while (filled < buffer.size()) {
      absl::StatusOr<size_t> n = tar.Read(buffer.data() + filled, buffer.size() - filled);
      if (!n.ok()) {
        read_status = n.status();
        break;
      }
      if (*n == 0) break;
      filled += *n;
    }
    if (!read_status.ok()) {
      context.TryCancel();
      break;
    }
    if (filled == 0) break;
    request.mutable_chunk()->set_data(buffer.data(), filled);
    open = writer->Write(request);
    if (filled < buffer.size()) break;
  }
  // stored extracts meanwhile; it publishes only on the go-ahead, which is
  // sent once the parent is published. A closed stream means stored already
  // answered (an error, or the chain was there): Finish says which.
  absl::Status parent_status;
  if (parent_pending && open && read_status.ok()) {
    request.set_tar_end(true);
    open = writer->Write(request);
    if (open) {
      parent_status = header.wait_for_parent();
      if (parent_status.ok()) {
        request.set_publish(true);
        writer->Write(request);
      } else {
        // Without its go-ahead stored discards the layer.
        context.TryCancel();
      }
    }
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  RETURN_IF_ERROR(read_status);
  RETURN_IF_ERROR(parent_status);
  if (!status.ok()) return FromSiblingStatus(status, "stored");
  return response.size();
}

absl::Status GrpcLayerSink::RemoveLayer(const std::string& chain_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  storage::RemoveLayerRequest request;
  request.set_chain_id(chain_id);
  storage::RemoveLayerResponse response;
  grpc::Status status = stub_->RemoveLayer(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::NOT_FOUND) return absl::OkStatus();
  return FromSiblingStatus(status, "stored");
}

}  // namespace berth::imaged
