// Error types thrown by every public einstream function.
//
// All derive from einstream::Error (itself a std::runtime_error), so a caller
// can catch one type. Messages say what went wrong, where, and what was
// expected; the typed fields let programs react without parsing text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace einstream {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A malformed einsum expression. position() is the 0-based character offset in
// the expression where the problem was found.
class ParseError : public Error {
 public:
  ParseError(const std::string& message, std::string expression, std::size_t position);
  const std::string& expression() const noexcept { return expression_; }
  std::size_t position() const noexcept { return position_; }

 private:
  std::string expression_;
  std::size_t position_;
};

// Operand shapes, strides or data types that do not fit the expression.
class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& message) : Error(message) {}
};

// The work does not fit the memory available to it.
class MemoryError : public Error {
 public:
  MemoryError(const std::string& message, std::uint64_t bytes_needed,
              std::uint64_t bytes_available);
  std::uint64_t bytes_needed() const noexcept { return bytes_needed_; }
  std::uint64_t bytes_available() const noexcept { return bytes_available_; }

 private:
  std::uint64_t bytes_needed_;
  std::uint64_t bytes_available_;
};

// A CUDA runtime or cuBLAS call failed. call() is the source text of the call.
class CudaError : public Error {
 public:
  CudaError(const std::string& message, std::string call, std::string file, int line);
  const std::string& call() const noexcept { return call_; }
  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }

 private:
  std::string call_;
  std::string file_;
  int line_;
};

}  // namespace einstream
