#include "imaged/grpc_changes_source.h"

#include <algorithm>
#include <cstring>

#include "common/grpc_server.h"
#include "common/grpc_status.h"

namespace berth::imaged {
namespace {

namespace storage = berth::storage::v1;

class ChunkStreamSource : public ByteSource {
 public:
  ChunkStreamSource(std::unique_ptr<grpc::ClientContext> context,
                    std::unique_ptr<grpc::ClientReader<types::v1::Chunk>> reader)
      : context_(std::move(context)), reader_(std::move(reader)) {}
  ~ChunkStreamSource() override {
    if (!done_) {
      context_->TryCancel();
      reader_->Finish().ok();
    }
  }

  absl::StatusOr<size_t> Read(char* buffer, size_t n) override {
    while (offset_ == chunk_.data().size()) {
      if (done_) return size_t{0};
      offset_ = 0;
      if (!reader_->Read(&chunk_)) {
        chunk_.Clear();
        done_ = true;
        grpc::Status status = reader_->Finish();
        if (!status.ok()) return FromSiblingStatus(status, "stored");
        return size_t{0};
      }
    }
    size_t count = std::min(n, chunk_.data().size() - offset_);
    std::memcpy(buffer, chunk_.data().data() + offset_, count);
    offset_ += count;
    return count;
  }

 private:
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<grpc::ClientReader<types::v1::Chunk>> reader_;
  types::v1::Chunk chunk_;
  size_t offset_ = 0;
  bool done_ = false;
};

}  // namespace

GrpcChangesSource::GrpcChangesSource(const std::string& socket_path)
    : stub_(storage::StorageService::NewStub(UnixChannel(socket_path))) {}

absl::StatusOr<std::unique_ptr<ByteSource>> GrpcChangesSource::OpenChanges(
    const std::string& container_id, const std::vector<std::string>& excluded) {
  auto context = std::make_unique<grpc::ClientContext>();
  storage::ExportChangesRequest request;
  request.set_container_id(container_id);
  for (const std::string& path : excluded) request.add_excluded_paths(path);
  auto reader = stub_->ExportChanges(context.get(), request);
  return std::unique_ptr<ByteSource>(
      std::make_unique<ChunkStreamSource>(std::move(context), std::move(reader)));
}

}  // namespace berth::imaged
