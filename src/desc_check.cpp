#include "src/desc_check.hpp"

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"
#include "planner/device_layout.hpp"

namespace einstream::detail {

namespace {

[[noreturn]] void fail_size(const TensorDesc& desc, const std::string& what,
                            const std::string& quantity) {
  throw ShapeError(what + " " + to_string(desc) + ": its " + quantity +
                   " does not fit a signed 64-bit integer; expected at most 2^63 - 1");
}

}  // namespace

std::int64_t checked_byte_count(const TensorDesc& desc, const std::string& what) {
  std::int64_t count = 0;
  try {
    count = desc.element_count();
  } catch (const ShapeError&) {
    fail_size(desc, what, "element count");
  }
  std::int64_t bytes = 0;
  if (!checked_multiply(count, static_cast<std::int64_t>(size_of(desc.dtype)), &bytes)) {
    fail_size(desc, what,
              "byte count (" + std::to_string(count) + " elements of " +
                  std::to_string(size_of(desc.dtype)) + " bytes)");
  }
  return bytes;
}

void check_desc(const TensorDesc& desc, const std::string& what) {
  if (!desc.strides.empty() && desc.strides.size() != desc.extents.size()) {
    throw ShapeError(what + " " + to_string(desc) + " has " + std::to_string(desc.strides.size()) +
                     " strides for " + std::to_string(desc.extents.size()) +
                     " extents: expected one stride per axis (or none for C order)");
  }
  for (std::size_t axis = 0; axis < desc.extents.size(); ++axis) {
    if (desc.extents[axis] < 0) {
      throw ShapeError(what + " " + to_string(desc) + " has negative extent " +
                       std::to_string(desc.extents[axis]) + " on axis " + std::to_string(axis));
    }
  }
  if (checked_byte_count(desc, what) == 0) return;
  try {
    span_bytes(desc);  // the one definition of a span, checked
  } catch (const ShapeError&) {
    fail_size(desc, what, "byte span");
  }
}

}  // namespace einstream::detail
