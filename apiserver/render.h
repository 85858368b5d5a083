// Docker's JSON shapes built from berth's proto messages: container list and
// inspect, image list, inspect and history.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "common/json.h"
#include "proto/image/v1/image.pb.h"
#include "proto/runtime/v1/runtime.pb.h"

namespace berth::apiserver {

// Parses a stored JSON document; anything but an object becomes {}.
Json ParseObject(const std::string& text);

bool ContainerTty(const runtime::v1::Container& container);
std::map<std::string, std::string> ContainerLabels(const runtime::v1::Container& container);
// Path followed by the arguments, quoting those with spaces, as `docker ps` shows it.
std::string ContainerCommand(const runtime::v1::Container& container);

// An entry of GET /containers/json.
Json RenderContainerSummary(const runtime::v1::Container& container, bool with_size,
                            int64_t now_nanos);
// GET /containers/{id}/json.
Json RenderContainerInspect(const runtime::v1::Container& container);

std::map<std::string, std::string> ImageLabels(const image::v1::Image& image);
// An entry of GET /images/json.
Json RenderImageSummary(const image::v1::Image& image, const std::string& api_version);
// GET /images/{name}/json.
Json RenderImageInspect(const image::v1::Image& image, const std::string& api_version);
// GET /images/{name}/history.
Json RenderImageHistory(const image::v1::Image& image);

// Seconds since the epoch of an RFC 3339 time; 0 when it does not parse.
int64_t ParseRfc3339Seconds(const std::string& text);

}  // namespace berth::apiserver
