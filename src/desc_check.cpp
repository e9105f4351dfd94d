#include "src/desc_check.hpp"

#include <limits>

#include "einstream/error.hpp"
#include "planner/checked_math.hpp"

namespace einstream::detail {

namespace {

[[noreturn]] void fail_size(const TensorDesc& desc, const std::string& what,
                            const std::string& quantity) {
  throw ShapeError(what + " " + to_string(desc) + ": its " + quantity +
                   " does not fit a signed 64-bit integer; expected at most 2^63 - 1");
}

// Elements from the lowest to the highest addressed element, inclusive.
std::int64_t span_elements(const TensorDesc& desc, const std::string& what) {
  const std::vector<std::int64_t> strides = desc.effective_strides();
  std::int64_t reach = 0;
  for (std::size_t axis = 0; axis < desc.extents.size(); ++axis) {
    std::int64_t step = 0;
    const std::int64_t stride = strides[axis];
    if (stride == std::numeric_limits<std::int64_t>::min() && desc.extents[axis] > 1) {
      fail_size(desc, what, "byte span");
    }
    const std::int64_t magnitude = stride < 0 ? -stride : stride;
    if (!checked_multiply(desc.extents[axis] - 1, magnitude, &step) ||
        !checked_add(reach, step, &reach)) {
      fail_size(desc, what, "byte span");
    }
  }
  std::int64_t elements = 0;
  if (!checked_add(reach, 1, &elements)) fail_size(desc, what, "byte span");
  return elements;
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
  std::int64_t span_bytes = 0;
  if (!checked_multiply(span_elements(desc, what), static_cast<std::int64_t>(size_of(desc.dtype)),
                        &span_bytes)) {
    fail_size(desc, what, "byte span");
  }
}

}  // namespace einstream::detail
