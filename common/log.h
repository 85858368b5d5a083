// Logging for every berth process: spdlog, one logger per component, to
// stderr (the supervisor collects each daemon's stderr into its log file).
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace berth {

// Names the default logger after the component and sets the level ("debug",
// "info", "warn", "error"). Safe to call more than once.
void InitLogging(std::string_view component, std::string_view level = "info");

}  // namespace berth
