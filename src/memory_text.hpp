// The text form of memory sizes, shared by MemoryLimit::parse and the CLI's
// --max-intermediate: bytes with a suffix, and, where `device_shares`, a
// percentage or fraction of device memory (grammar in src/options.cpp).
#pragma once

#include <string>

#include "einstream/plan.hpp"

namespace einstream::detail {

// Throws Error "invalid LABEL 'TEXT': why; expected ..." for text that is no
// such size (a share of the device, when not `device_shares`, included).
MemoryLimit parse_memory_text(const std::string& text, const std::string& label,
                              bool device_shares);

}  // namespace einstream::detail
