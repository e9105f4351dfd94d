// libFuzzer entry point for one target, chosen at compile time by
// EINSTREAM_FUZZ_TARGET (parse_target, npy_target or plan_target). A wrong
// result aborts, so libFuzzer saves the input like any other crash.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string failure = einstream::fuzz::EINSTREAM_FUZZ_TARGET(data, size);
  if (!failure.empty()) {
    std::fprintf(stderr, "einstream fuzz: wrong result: %s\n", failure.c_str());
    std::abort();
  }
  return 0;
}
