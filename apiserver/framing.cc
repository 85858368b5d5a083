#include "apiserver/framing.h"

#include "apiserver/version.h"

namespace berth::apiserver {

std::string MuxFrame(StreamId stream, absl::string_view payload) {
  std::string frame(8, '\0');
  frame[0] = static_cast<char>(stream);
  uint32_t size = static_cast<uint32_t>(payload.size());
  frame[4] = static_cast<char>((size >> 24) & 0xff);
  frame[5] = static_cast<char>((size >> 16) & 0xff);
  frame[6] = static_cast<char>((size >> 8) & 0xff);
  frame[7] = static_cast<char>(size & 0xff);
  frame.append(payload.data(), payload.size());
  return frame;
}

std::string JsonMessageLine(const Json& message) { return message.dump() + "\r\n"; }

Json JsonErrorMessage(absl::string_view message) {
  std::string text(message);
  return Json{{"errorDetail", {{"message", text}}}, {"error", text}};
}

std::string StreamContentType(bool tty, absl::string_view api_version) {
  if (!tty && VersionAtLeast(api_version, "1.42")) {
    return "application/vnd.docker.multiplexed-stream";
  }
  return "application/vnd.docker.raw-stream";
}

}  // namespace berth::apiserver
