// What `POST /build` streams back, byte for byte as Docker's legacy builder:
// JSON messages separated by "\r\n", encoded as Go's encoding/json does (so
// "--->" goes out as "---\u003e"), the step lines, and the cache key.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth::imaged::build {

// Go's json string encoding: quotes, backslashes and control characters
// escaped, and <, >, &, U+2028, U+2029 as \u escapes; invalid UTF-8 as \ufffd.
std::string GoJsonString(const std::string& text);

// {"stream":"<text>"}
std::string StreamMessage(const std::string& text);
// {"aux":{"ID":"<image id>"}}
std::string AuxIdMessage(const std::string& image_id);
// {"errorDetail":{"code":<code>,"message":"<m>"},"error":"<m>"}, code left out when 0.
std::string ErrorMessage(const std::string& message, int code = 0);

// The 12 hex digits Docker shows for an ID ("sha256:" dropped).
std::string ShortId(const std::string& id);

// The cache key of a step: its parent image, its instruction after expansion
// (which for RUN holds the build args in scope) and, for COPY/ADD, the checksum
// of the files it copies. "sha256:<hex>".
std::string CacheKey(const std::string& parent_image_id, const std::string& cache_text,
                     const std::string& copy_checksum);

// The build's output channel: one JSON message per call, gathered and
// written to sink by Flush (the builder flushes once per step, and before
// anything that takes long), by Error and by Finish: a write is a gRPC
// message and an HTTP chunk, and a cached step has four messages.
// Quiet (-q) keeps the stream messages back: they are written only before an
// error, and a successful build shows only the image ID, as Docker does.
class BuildOutput {
 public:
  using Sink = std::function<absl::Status(const std::string& bytes)>;
  using Clock = std::function<absl::Time()>;
  // How long gathered messages may wait at FlushDue.
  static constexpr absl::Duration kFlushInterval = absl::Milliseconds(100);

  BuildOutput(Sink sink, bool quiet, Clock clock = absl::Now)
      : sink_(std::move(sink)), quiet_(quiet), clock_(std::move(clock)), last_flush_(clock_()) {}

  absl::Status Stream(const std::string& text);
  absl::Status Aux(const std::string& image_id);
  // "Step 2/5 : RUN make", sent in two messages (the line, then "\n") as
  // Docker sends it.
  absl::Status StepLine(int step, int total, const std::string& original);
  // Writes what was gathered. The status is the sink's (the client went away).
  absl::Status Flush();
  // Flush when the last write is kFlushInterval old: after a step from the
  // cache (microseconds), whose messages can go out with the next step that
  // works or with the end, while a long run of cached steps still shows.
  absl::Status FlushDue();
  // Writes the held-back output first in quiet mode.
  absl::Status Error(const std::string& message, int code = 0);
  // Writes what was gathered; quiet mode's only output: "sha256:<hex>\n".
  absl::Status Finish(const std::string& image_id);
  // Where Error and Finish write, when set: the output's end, which the
  // gRPC adapter sends together with the call's status.
  void set_last_sink(Sink sink) { last_sink_ = std::move(sink); }
  bool quiet() const { return quiet_; }
  // Whether anything was written or held back: until then an error can
  // still be the reply itself (Docker answers it as an HTTP error).
  bool started() const { return started_; }

 private:
  absl::Status Write(const std::string& message, bool suppressible);

  Sink sink_;
  Sink last_sink_;
  bool quiet_;
  Clock clock_;
  absl::Time last_flush_;
  // Written at the next Flush.
  std::string pending_;
  // Quiet mode's messages, written only before an error.
  std::string held_;
  bool started_ = false;
};

}  // namespace berth::imaged::build
