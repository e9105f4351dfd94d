#pragma once

#define EINSTREAM_VERSION_MAJOR 0
#define EINSTREAM_VERSION_MINOR 1
#define EINSTREAM_VERSION_PATCH 0

namespace einstream {
// "0.1.0"
const char* version();
}  // namespace einstream
