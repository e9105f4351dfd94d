#include "einstream/error.hpp"

#include <utility>

namespace einstream {

ParseError::ParseError(const std::string& message, std::string expression, std::size_t position)
    : Error(message), expression_(std::move(expression)), position_(position) {}

MemoryError::MemoryError(const std::string& message, std::uint64_t bytes_needed,
                         std::uint64_t bytes_available)
    : Error(message), bytes_needed_(bytes_needed), bytes_available_(bytes_available) {}

CudaError::CudaError(const std::string& message, std::string call, std::string file, int line)
    : Error(message), call_(std::move(call)), file_(std::move(file)), line_(line) {}

}  // namespace einstream
