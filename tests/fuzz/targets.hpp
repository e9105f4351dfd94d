// Fuzz targets: each takes libFuzzer's bytes and returns an empty string when
// the input was handled correctly (an einstream::Error for bad input counts as
// correct), or a description of the wrong result. Crashes, sanitizer reports
// and hangs are left to the caller's tools.
//
// Both the libFuzzer executables (fuzz_main.cpp, one per target) and the
// regression test (regression_test.cpp, part of einstream_tests) call these,
// so every checked-in input replays exactly as the fuzzer ran it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace einstream::fuzz {

// detail::parse on an expression and operand shapes decoded from the bytes.
std::string parse_target(const std::uint8_t* data, std::size_t size);

// detail::read_npy on the bytes as a file; what it accepts must survive a
// write_npy / read_npy round trip unchanged.
std::string npy_target(const std::uint8_t* data, std::size_t size);

// A small einsum problem decoded from the bytes (labels, extents 0-4, dtype,
// strides including zero and negative, alpha/beta, path algorithm, sometimes a
// 4-64 KiB memory limit that forces slicing), run by einstream::Plan on the
// host backend and compared with the reference executor.
std::string plan_target(const std::uint8_t* data, std::size_t size);

// cli::parse_network (the CLI's --network FILE.json reader) on the bytes as
// the file's text; what it accepts must satisfy the reader's promises and
// survive a write-back / parse round trip unchanged.
std::string network_target(const std::uint8_t* data, std::size_t size);

}  // namespace einstream::fuzz
