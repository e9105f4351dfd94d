// Tests for einstream::devices() (include/einstream/devices.hpp).
#include <gtest/gtest.h>

#include <vector>

#include "einstream/einstream.hpp"
#include "src/devices.hpp"

namespace einstream {
namespace {

// Host-only builds (and GPU builds on machines without a GPU) list nothing
// and do not throw; a GPU build lists each device once, by ordinal, with its
// memory.
TEST(Devices, ListsEveryVisibleDeviceOrNoneWithoutThrowing) {
  std::vector<DeviceInfo> listed;
  ASSERT_NO_THROW(listed = devices());
  if (!detail::cuda_enabled()) {
    EXPECT_TRUE(listed.empty());
  }
  for (std::size_t k = 0; k < listed.size(); ++k) {
    EXPECT_EQ(listed[k].index, static_cast<int>(k));
    EXPECT_FALSE(listed[k].name.empty());
    EXPECT_GT(listed[k].total_memory, 0u);
    EXPECT_LE(listed[k].free_memory, listed[k].total_memory);
  }
}

}  // namespace
}  // namespace einstream
