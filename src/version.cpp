#include "einstream/version.hpp"

#define EINSTREAM_STRINGIFY_VALUE(x) #x
#define EINSTREAM_STRINGIFY(x) EINSTREAM_STRINGIFY_VALUE(x)

namespace einstream {

const char* version() {
  return EINSTREAM_STRINGIFY(EINSTREAM_VERSION_MAJOR) "." EINSTREAM_STRINGIFY(
      EINSTREAM_VERSION_MINOR) "." EINSTREAM_STRINGIFY(EINSTREAM_VERSION_PATCH);
}

}  // namespace einstream
