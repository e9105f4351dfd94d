// Host storage types for the half-precision data types: float16 (IEEE 754
// binary16, DataType::f16) and bfloat16 (DataType::bf16).
//
// Each is two bytes with the same bits as CUDA's __half and __nv_bfloat16,
// so a buffer of either can be handed to einstream as it is. They are storage
// types, not arithmetic types: they convert to float implicitly and from
// float explicitly (rounding to nearest, ties to even; overflow gives
// infinity, NaN stays NaN), so `float(x) * float(y)` is how one computes with
// them. einstream accumulates half-precision contractions in f32 or wider.
//
// The header needs no CUDA header.
#pragma once

#include <cstdint>
#include <cstring>

namespace einstream {

namespace detail {

inline std::uint32_t float_bits(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

inline float bits_float(std::uint32_t bits) {
  float value = 0;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// binary32 -> binary16, round to nearest even.
inline std::uint16_t float_to_half_bits(float value) {
  constexpr std::uint32_t kInfinityBits = 0x7f800000u;
  constexpr std::uint32_t kOverflowBits = (127u + 16u) << 23;  // 65536.0f
  constexpr std::uint32_t kSmallestNormalBits = 113u << 23;    // 2^-14
  // One unit in the last place of 0.5f is 2^-24, a subnormal half's unit, so
  // adding 0.5f makes the float adder round the mantissa for us.
  constexpr std::uint32_t kSubnormalMagicBits = 126u << 23;  // 0.5f
  std::uint32_t bits = float_bits(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  bits &= 0x7fffffffu;
  std::uint32_t half = 0;
  if (bits >= kOverflowBits) {
    half = bits > kInfinityBits ? 0x7e00u : 0x7c00u;  // NaN stays a (quiet) NaN
  } else if (bits < kSmallestNormalBits) {
    const float rounded = bits_float(bits) + bits_float(kSubnormalMagicBits);
    half = float_bits(rounded) - kSubnormalMagicBits;
  } else {
    const std::uint32_t mantissa_odd = (bits >> 13) & 1u;
    // Rebias the exponent (127 -> 15) and round: 0xfff plus the kept
    // mantissa's lowest bit carries exactly on ties to even. A carry out of
    // the mantissa bumps the exponent, up to infinity for 65520 and above.
    bits += (static_cast<std::uint32_t>(15 - 127) << 23) + 0xfffu + mantissa_odd;
    half = bits >> 13;
  }
  return static_cast<std::uint16_t>(half | sign);
}

inline float half_bits_to_float(std::uint16_t half) {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  const std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float.
    const float magnitude = static_cast<float>(mantissa) * bits_float(103u << 23);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

// binary32 -> bfloat16, round to nearest even; NaN stays a quiet NaN.
inline std::uint16_t float_to_bfloat16_bits(float value) {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

inline float bfloat16_bits_to_float(std::uint16_t bits) {
  return bits_float(static_cast<std::uint32_t>(bits) << 16);
}

}  // namespace detail

struct float16 {
  std::uint16_t bits = 0;

  float16() = default;
  explicit float16(float value) : bits(detail::float_to_half_bits(value)) {}
  static float16 from_bits(std::uint16_t raw) {
    float16 result;
    result.bits = raw;
    return result;
  }
  operator float() const { return detail::half_bits_to_float(bits); }
};

struct bfloat16 {
  std::uint16_t bits = 0;

  bfloat16() = default;
  explicit bfloat16(float value) : bits(detail::float_to_bfloat16_bits(value)) {}
  static bfloat16 from_bits(std::uint16_t raw) {
    bfloat16 result;
    result.bits = raw;
    return result;
  }
  operator float() const { return detail::bfloat16_bits_to_float(bits); }
};

static_assert(sizeof(float16) == 2 && sizeof(bfloat16) == 2, "two-byte storage types");

}  // namespace einstream
