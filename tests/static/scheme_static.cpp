// Compile-only checks of the scheme policies (tests/static: a failing static_assert fails the build).
#include <cstdint>
#include <type_traits>

#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace q = qsparse;

static_assert(q::storage_traits<std::int8_t>::qmin == -128 && q::storage_traits<std::int8_t>::qmax == 127);
static_assert(q::storage_traits<q::narrow<std::int8_t>>::qmin == -127);
static_assert(q::storage_traits<q::narrow<std::int16_t>>::qmin == -32767);
static_assert(q::storage_traits<std::uint8_t>::qmin == 0 && q::storage_traits<std::uint8_t>::qmax == 255);
static_assert(q::storage_traits<std::int32_t>::qmin == INT32_MIN);
static_assert(q::is_storage_v<q::narrow<std::int8_t>> && !q::is_storage_v<float>);

static_assert(q::tflite_int8_weight::is_per_channel && q::tflite_int8_weight::is_symmetric);
static_assert(q::tflite_int8_weight::qmin == -127 && q::tflite_int8_weight::symmetric_zero_point == 0);
static_assert(std::is_same_v<q::tflite_int8_activation::value_type, std::int8_t>);
static_assert(std::is_same_v<q::tflite_int16_activation::value_type, std::int16_t>);
static_assert(q::torch_quint8::qmax == 255 && !q::torch_quint8::is_symmetric);
static_assert(q::scheme<std::uint8_t, q::per_tensor, q::symmetric, q::round_half_to_even>::symmetric_zero_point == 128);
static_assert(q::round_half_to_even::multiplies_by_reciprocal && !q::round_half_away_from_zero::multiplies_by_reciprocal);
static_assert(q::is_scheme_v<q::torch_qint8> && !q::is_scheme_v<int>);
static_assert(std::is_same_v<q::params_for<q::tflite_int8_weight>, q::per_channel_params>);
static_assert(std::is_same_v<q::params_for<q::torch_quint8>, q::per_tensor_params>);
static_assert(std::is_same_v<q::with_granularity<q::tflite_int8_weight, q::per_tensor>, q::tflite_int8_weight_per_tensor>);
static_assert(std::is_trivially_copyable_v<q::per_tensor_params> && std::is_trivially_copyable_v<q::per_channel_params>);
static_assert(std::is_empty_v<q::per_tensor> && std::is_empty_v<q::affine> && std::is_empty_v<q::round_half_to_even>);
