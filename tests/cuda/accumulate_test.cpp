// accumulate() with device buffers: a device sum, a device output or both
// give, byte for byte, what the host loop gives on host copies, the gaps
// between the elements of a strided layout included (einstream/mpi.hpp
// adds the summed partials into a device output this way).
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "einstream/plan.hpp"
#include "tests/support/gpu.hpp"
#include "tests/support/tensors.hpp"

namespace einstream {
namespace {

using testing::DeviceMemory;

// The span of `desc` in device memory, filled with `bytes`; pointer() is
// where the tensor's first element is.
struct DeviceSpan {
  DeviceMemory memory;
  std::size_t origin;
  DeviceSpan(const TensorDesc& desc, const std::vector<unsigned char>& bytes)
      : memory(bytes.size()),
        origin(static_cast<std::size_t>(desc.span().origin) * size_of(desc.dtype)) {
    memory.upload(bytes);
  }
  void* pointer() const { return static_cast<unsigned char*>(memory.get()) + origin; }
  std::vector<unsigned char> bytes() const {
    return memory.download<unsigned char>(memory.bytes());
  }
};

TEST(CudaAccumulate, DeviceSumsAndOutputsMatchTheHostLoop) {
  EINSTREAM_REQUIRE_GPU();
  std::mt19937 random(7);
  for (DataType dtype : testing::kDataTypes) {
    // [3, 5, 4]: rows of 4 elements 8 apart (gaps of 4), the middle axis
    // reversed, planes 48 apart: a span of 132 elements (the lowest 32
    // before the first element), 60 of them the tensor's.
    const TensorDesc desc(dtype, {3, 5, 4}, {48, -8, 1});
    const std::int64_t span = desc.span().elements;
    const std::size_t origin = static_cast<std::size_t>(desc.span().origin) * size_of(dtype);
    ASSERT_EQ(span, 132);
    ASSERT_EQ(desc.span().origin, 32);
    const std::vector<unsigned char> sum = testing::random_tensor(dtype, span, random);
    const std::vector<unsigned char> out = testing::random_tensor(dtype, span, random);
    const std::vector<Scalar> betas = is_complex(dtype)
                                          ? std::vector<Scalar>{0.0, 1.0, Scalar(-0.5, 2.0)}
                                          : std::vector<Scalar>{0.0, 1.0, -0.75};
    for (const Scalar beta : betas) {
      std::vector<unsigned char> expected = out;
      accumulate(desc, sum.data() + origin, expected.data() + origin, beta);
      ASSERT_NE(expected, out);
      for (int where = 1; where < 4; ++where) {
        const bool sum_on_device = (where & 1) != 0, out_on_device = (where & 2) != 0;
        SCOPED_TRACE(std::string(to_string(dtype)) + ", sum on the " +
                     (sum_on_device ? "device" : "host") + ", output on the " +
                     (out_on_device ? "device" : "host"));
        DeviceSpan device_sum(desc, sum), device_out(desc, out);
        std::vector<unsigned char> host_out = out;
        const void* sum_pointer = sum_on_device ? device_sum.pointer() : sum.data() + origin;
        void* out_pointer = out_on_device ? device_out.pointer() : host_out.data() + origin;
        accumulate(desc, sum_pointer, out_pointer, beta);
        EXPECT_EQ(out_on_device ? device_out.bytes() : host_out, expected);
        EXPECT_EQ(device_sum.bytes(), sum);  // the sum is only read
      }
    }
  }
}

}  // namespace
}  // namespace einstream
