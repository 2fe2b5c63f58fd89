// qsparse/quant/scheme.hpp — a quantization scheme is a type composed of four policies.
//
//   scheme<Storage, Granularity, Mapping, Rounding>
//     Storage      std::int8_t, std::uint8_t, std::int16_t, std::int32_t, narrow<std::int8_t>, narrow<std::int16_t>,
//                  quant_range<T, Min, Max>, sub_byte: int4, uint4, int2, uint2 (qsparse/quant/storage.hpp)
//     Granularity  per_tensor (one scale and zero point), per_channel (one per index along an axis;
//                  the axis is run-time data in per_channel_params) or per_group<Scale> (one per run of
//                  group_size elements along the reduction axis of a matrix, scales stored as Scale =
//                  float or float16; axis and group size are run-time data in group_params<Scale>)
//     Mapping      affine (any zero point in the storage range) or symmetric (the zero point is fixed:
//                  0 for signed storage, 128 for uint8 — PyTorch's convention)
//     Rounding     round_half_away_from_zero (TFLite), round_half_to_even (PyTorch) or
//                  round_half_to_even_divide (ONNX)
//                  (qsparse/quant/rounding.hpp; the policy also fixes division vs reciprocal and the
//                  choose_params rule)
//
// Policies are empty tags; scales and zero points live in per_tensor_params / per_channel_params
// (qsparse/quant/params.hpp), which point at caller memory.
//
// Ready-made schemes:
//   tflite_int8_activation   int8, per tensor, affine, half away          (TFLite activations)
//   tflite_int8_weight       narrow int8 [-127,127], per channel, symmetric, half away (TFLite conv/FC weights)
//   tflite_int16_activation  narrow int16 [-32767,32767], per tensor, symmetric, half away (TFLite 16x8 activations;
//                            the converter's scale is max|x| / 32767)
//   torch_quint8             uint8, per tensor, affine, half even         (PyTorch quint8 activations)
//   torch_qint8              int8, per tensor, symmetric, half even       (PyTorch qint8 weights, per_tensor_symmetric)
//   torch_qint8_per_channel  int8, per channel, symmetric, half even      (PyTorch per_channel_symmetric weights)
#pragma once

#include <cstdint>
#include <type_traits>

#include "qsparse/core/float16.hpp"
#include "qsparse/quant/rounding.hpp"
#include "qsparse/quant/storage.hpp"

namespace qsparse {

/// One scale and zero point for the whole tensor.
struct per_tensor {
  static constexpr const char* name = "per_tensor";
};
/// One scale and zero point per index along an axis (the axis is given in per_channel_params).
struct per_channel {
  static constexpr const char* name = "per_channel";
};

/// One scale and zero point per group of `group_size` consecutive elements along the reduction axis of a
/// matrix (group-wise weights: llama.cpp's blocks, PyTorch ao's int4 groups). The scales are stored as
/// Scale (float or float16); quantization uses float(scale) so that it agrees with the stored value.
template <class Scale>
struct per_group {
  static_assert(std::is_same_v<Scale, float> || std::is_same_v<Scale, float16>,
                "qsparse::per_group<Scale>: Scale must be float or qsparse::float16.");
  using scale_type = Scale;
  static constexpr const char* name = "per_group";
};

/// Any zero point in the storage range; the range [min, max] maps onto [qmin, qmax].
struct affine {
  static constexpr const char* name = "affine";
};
/// Zero point fixed at the storage's centre; the range [-max|x|, max|x|] maps onto it.
struct symmetric {
  static constexpr const char* name = "symmetric";
};

template <class G>
inline constexpr bool is_granularity_v = std::is_same_v<G, per_tensor> || std::is_same_v<G, per_channel> ||
                                         std::is_same_v<G, per_group<float>> || std::is_same_v<G, per_group<float16>>;
template <class M>
inline constexpr bool is_mapping_v = std::is_same_v<M, affine> || std::is_same_v<M, symmetric>;

template <class Storage, class Granularity, class Mapping, class Rounding>
struct scheme {
  static_assert(is_storage_v<Storage>,
                "qsparse::scheme: Storage must be std::int8_t, std::uint8_t, std::int16_t, std::int32_t, "
                "qsparse::narrow<std::int8_t>, qsparse::narrow<std::int16_t>, qsparse::quant_range<T, Min, Max> or a "
                "sub-byte storage (qsparse::int4, uint4, int2, uint2).");
  static_assert(is_granularity_v<Granularity>,
                "qsparse::scheme: Granularity must be qsparse::per_tensor, qsparse::per_channel or "
                "qsparse::per_group<float / qsparse::float16>.");
  static_assert(is_mapping_v<Mapping>, "qsparse::scheme: Mapping must be qsparse::affine or qsparse::symmetric.");
  static_assert(is_rounding_v<Rounding>,
                "qsparse::scheme: Rounding must be qsparse::round_half_away_from_zero, qsparse::round_half_to_even, "
                "qsparse::round_half_to_even_divide or qsparse::tflite_optimized_rounding.");

  using storage = Storage;
  using granularity = Granularity;
  using mapping = Mapping;
  using rounding = Rounding;
  using value_type = typename storage_traits<Storage>::value_type;
  static constexpr std::int32_t qmin = storage_traits<Storage>::qmin;
  static constexpr std::int32_t qmax = storage_traits<Storage>::qmax;
  static constexpr bool is_per_channel = std::is_same_v<Granularity, per_channel>;
  static constexpr bool is_per_group = !is_per_channel && !std::is_same_v<Granularity, per_tensor>;
  static constexpr bool is_symmetric = std::is_same_v<Mapping, symmetric>;
  /// The zero point a symmetric scheme requires: 0 for signed storage, (qmax + 1) / 2 = 128 for uint8,
  /// (qmin + qmax) / 2 for an unsigned quant_range (PyTorch's rule for a custom range).
  static constexpr std::int32_t symmetric_zero_point = storage_traits<Storage>::symmetric_zero_point;
};

template <class T>
struct is_scheme : std::false_type {};
template <class S, class G, class M, class R>
struct is_scheme<scheme<S, G, M, R>> : std::true_type {};
template <class T>
inline constexpr bool is_scheme_v = is_scheme<T>::value;

/// The same scheme with another granularity (e.g. a per-tensor view of a per-channel scheme's channel).
template <class Scheme, class Granularity>
using with_granularity = scheme<typename Scheme::storage, Granularity, typename Scheme::mapping, typename Scheme::rounding>;

using tflite_int8_activation = scheme<std::int8_t, per_tensor, affine, round_half_away_from_zero>;
using tflite_int8_weight = scheme<narrow<std::int8_t>, per_channel, symmetric, round_half_away_from_zero>;
using tflite_int8_weight_per_tensor = scheme<narrow<std::int8_t>, per_tensor, symmetric, round_half_away_from_zero>;
using tflite_int16_activation = scheme<narrow<std::int16_t>, per_tensor, symmetric, round_half_away_from_zero>;
using tflite_int32_bias = scheme<std::int32_t, per_channel, symmetric, round_half_away_from_zero>;
using torch_quint8 = scheme<std::uint8_t, per_tensor, affine, round_half_to_even>;
using torch_qint8 = scheme<std::int8_t, per_tensor, symmetric, round_half_to_even>;
using torch_qint8_per_channel = scheme<std::int8_t, per_channel, symmetric, round_half_to_even>;
using torch_qint32 = scheme<std::int32_t, per_tensor, affine, round_half_to_even>;

}  // namespace qsparse
