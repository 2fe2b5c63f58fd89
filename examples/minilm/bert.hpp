// examples/minilm/bert.hpp — a BERT encoder (all-MiniLM-L6-v2 and its kin) and its sentence embeddings.
//
//   auto model = minilm::bert_model::load("dir", minilm::variant::f32);   // dir/config.json + model.safetensors
//   std::vector<float> e = model.embed(ids);                              // hidden_size floats, ||e|| = 1
//   std::vector<float> es = model.embed_batch({ids0, ids1, ...});        // row i: sequence i
//
// The forward pass is transformers' BertModel in inference (no dropout), then sentence-transformers'
// mean pooling and normalization:
//   x   = LayerNorm(word[id] + position[t] + token_type[0])
//   per layer:  q, k, v = x Wq + bq, x Wk + bk, x Wv + bv          (hidden -> hidden, heads of hidden/heads)
//               a = softmax(q_h k_h^T / sqrt(head_dim)) v_h        per head, over the sequence's own tokens
//               x = LayerNorm(x + a Wo + bo)
//               x = LayerNorm(x + GELU(x Wi + bi) Wd + bd)           GELU(x) = x/2 (1 + erf(x / sqrt 2))
//   embedding = normalize(mean over the sequence's tokens of x)      x / max(||x||, 1e-12)
// A batch is packed: its sequences' tokens are the rows of one matrix (no padding rows), each sequence
// attends only to its own tokens. That is what the attention mask of a padded batch computes (a masked
// key's probability is exactly 0 there too), without computing the padding.
//
// The linear layers (the six per encoder layer) go through minilm::linear, one implementation per
// variant (linear.hpp). The two attention products (q k^T and p v, per sequence and head) run in float32
// with Eigen for the float variants and on qsparse's int8 GEMM for the others (int8_attention below):
// both operands are activations, so both are quantized at run time — the left one (q's rows, p's rows)
// per row, asymmetric, by qsparse::hybrid_gemm, the right one (k^T per key token, v per feature)
// symmetric per channel (max |x| / 127; detail::quantize_operand, AVX-512 when the CPU has it, the same
// bits as its plain loops) and packed per call into per-thread buffers; exact int32 sums, float output. GELU and softmax run on qsparse's vectorized kernels (qsparse::gelu_erf, softmax_row: an
// erf within 2e-7, an exp within a few ulp, the same bits on every ISA); embeddings, layer norm
// (statistics in double, eight rows side by side) and pooling are plain float32 C++ here. Variants whose output columns are
// independent (detail::fuses_qkv) run q, k and v as one linear layer of 3 x hidden outputs.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "attention.hpp"
#include "linear.hpp"
#include "qsparse/conv/activation.hpp"
#include "qsparse/core/config.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/io/safetensors.hpp"
#if QSPARSE_X86
#include <immintrin.h>
#endif

namespace minilm {

struct bert_config {
  int vocab_size = 0;
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int intermediate_size = 0;
  int max_positions = 0;
  int type_vocab_size = 0;
  float layer_norm_eps = 1e-12f;

  int head_dim() const { return hidden_size / num_heads; }
};

/// Reads the fields of a transformers BertConfig (config.json) the encoder needs; refuses what it cannot run.
inline bert_config read_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("minilm: cannot open the model configuration " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  bert_config c;
  try {
    const nlohmann::json j = nlohmann::json::parse(ss.str());
    if (j.value("model_type", std::string("bert")) != "bert") {
      throw std::runtime_error("minilm: " + path + ": model_type must be \"bert\", got " + j.at("model_type").dump());
    }
    if (j.value("hidden_act", std::string("gelu")) != "gelu") {
      throw std::runtime_error("minilm: " + path + ": hidden_act must be \"gelu\" (the erf form), got " +
                               j.at("hidden_act").dump());
    }
    if (j.value("position_embedding_type", std::string("absolute")) != "absolute") {
      throw std::runtime_error("minilm: " + path + ": position_embedding_type must be \"absolute\", got " +
                               j.at("position_embedding_type").dump());
    }
    c.vocab_size = j.at("vocab_size").get<int>();
    c.hidden_size = j.at("hidden_size").get<int>();
    c.num_layers = j.at("num_hidden_layers").get<int>();
    c.num_heads = j.at("num_attention_heads").get<int>();
    c.intermediate_size = j.at("intermediate_size").get<int>();
    c.max_positions = j.value("max_position_embeddings", 512);
    c.type_vocab_size = j.value("type_vocab_size", 2);
    c.layer_norm_eps = static_cast<float>(j.value("layer_norm_eps", 1e-12));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error("minilm: " + path + ": " + e.what());
  }
  if (c.vocab_size < 1 || c.hidden_size < 1 || c.num_layers < 0 || c.num_heads < 1 || c.intermediate_size < 1 ||
      c.max_positions < 2 || c.type_vocab_size < 1 || c.hidden_size % c.num_heads != 0 || !(c.layer_norm_eps > 0.0f)) {
    throw std::runtime_error("minilm: " + path + ": inconsistent sizes (hidden_size " + std::to_string(c.hidden_size) +
                             ", num_attention_heads " + std::to_string(c.num_heads) + ", ...)");
  }
  return c;
}

namespace detail {

/// layer_norm's last step over one row: row[c] = float((row[c] - mean) * inv) * gamma[c] + beta[c], the
/// product rounded before the addition (a compiler may not contract them into one FMA: aarch64's did).
inline void layer_norm_row_scalar(float* row, std::size_t cols, double mean, double inv, const float* gamma,
                                  const float* beta) {
  for (std::size_t c = 0; c < cols; ++c) {
    row[c] = qsparse::detail::product_not_fused(static_cast<float>((row[c] - mean) * inv), gamma[c]) + beta[c];
  }
}

#if QSPARSE_X86
QSPARSE_SIMD_DIAGNOSTICS_BEGIN
/// layer_norm_row_scalar on AVX-512 (the caller checks the CPU): the same operations per value, 8 at a
/// time in double, the float product kept from contraction into the addition.
QSPARSE_TARGET_AVX512 inline void layer_norm_row_avx512(float* row, std::size_t cols, double mean, double inv,
                                                        const float* gamma, const float* beta) {
  const __m512d vm = _mm512_set1_pd(mean), vi = _mm512_set1_pd(inv);
  for (std::size_t c = 0; c < cols; c += 8) {
    const auto m = static_cast<__mmask8>(cols - c >= 8 ? 0xffu : (1u << (cols - c)) - 1u);
    const __m512d x = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, row + c));
    const __m256 normed = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_sub_pd(x, vm), vi));
    __m256 p = _mm256_mul_ps(normed, _mm256_maskz_loadu_ps(m, gamma + c));
    QSPARSE_KEEP_ROUNDED(p);
    _mm256_mask_storeu_ps(row + c, m, _mm256_add_ps(p, _mm256_maskz_loadu_ps(m, beta + c)));
  }
}
QSPARSE_SIMD_DIAGNOSTICS_END
#endif

/// y = LayerNorm(x) * gamma + beta over each row of `cols` values, in place (biased variance, as torch).
/// The statistics are double sums in the order c = 0, 1, ... of each row; eight rows run side by side so
/// that their sums, independent chains, overlap in the CPU (the same bits as one row at a time). The last
/// step runs on AVX-512 where `isa` has it (layer_norm_row_avx512, the same bits).
inline void layer_norm(float* x, std::size_t rows, std::size_t cols, const float* gamma, const float* beta, float eps,
                       qsparse::isa_level isa = qsparse::best_isa()) {
#if QSPARSE_X86
  const bool wide = qsparse::isa_runs(isa, qsparse::isa_level::avx512);
#else
  static_cast<void>(isa);  // the AVX-512 step is x86's only
#endif
  constexpr std::size_t block = 8;
  for (std::size_t r0 = 0; r0 < rows; r0 += block) {
    const std::size_t nb = std::min(block, rows - r0);
    float* const base = x + r0 * cols;
    double mean[block] = {}, var[block] = {}, inv[block] = {};
    if (nb == block) {
      for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t b = 0; b < block; ++b) mean[b] += base[b * cols + c];
      }
    } else {
      for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t b = 0; b < nb; ++b) mean[b] += base[b * cols + c];
      }
    }
    for (std::size_t b = 0; b < nb; ++b) mean[b] /= static_cast<double>(cols);
    if (nb == block) {
      for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t b = 0; b < block; ++b) var[b] += (base[b * cols + c] - mean[b]) * (base[b * cols + c] - mean[b]);
      }
    } else {
      for (std::size_t c = 0; c < cols; ++c) {
        for (std::size_t b = 0; b < nb; ++b) var[b] += (base[b * cols + c] - mean[b]) * (base[b * cols + c] - mean[b]);
      }
    }
    for (std::size_t b = 0; b < nb; ++b) {
      var[b] /= static_cast<double>(cols);
      inv[b] = 1.0 / std::sqrt(var[b] + static_cast<double>(eps));
    }
    for (std::size_t b = 0; b < nb; ++b) {
#if QSPARSE_X86
      if (wide) {
        layer_norm_row_avx512(base + b * cols, cols, mean[b], inv[b], gamma, beta);
        continue;
      }
#endif
      layer_norm_row_scalar(base + b * cols, cols, mean[b], inv[b], gamma, beta);
    }
  }
}

/// GELU over n values in place: qsparse::gelu_erf (x/2 (1 + erf(x / sqrt 2)), erf by a rational
/// approximation within 2e-7, the same bits on every ISA).
inline void gelu(float* x, std::size_t n) { qsparse::gelu_erf(x, x, static_cast<std::ptrdiff_t>(n)); }

/// Whether variant v runs a layer's q, k and v projections as one linear layer of 3 x hidden outputs:
/// the variants whose result per output column does not depend on the other columns (per-row or no
/// activation quantization, per-channel or per-group weights, no calibration, no pruning of the whole
/// tensor), so fusing changes no bit and saves two passes over the input. And int8-smooth, whose fused
/// layer shares one smoothing factor per input channel between q, k and v, as SmoothQuant does (there the
/// factors fold into the layer norm before the three projections).
inline bool fuses_qkv(variant v) {
  return v == variant::dynamic_int8 || v == variant::smooth_int8 || v == variant::f16 || v == variant::q4_g32 || v == variant::q4_g32_clip ||
         v == variant::q4_g128_clip;
}

}  // namespace detail

/// The linear slots of a model: four per encoder layer, slot 4 l + j for layer l and j = 0 the q | k | v
/// projection, 1 the attention output, 2 the intermediate (FFN up), 3 the output (FFN down) layer.
inline std::string slot_name(std::size_t slot) {
  static const char* const names[] = {"qkv", "attn-out", "ffn-up", "ffn-down"};
  return "L" + std::to_string(slot / 4) + "." + names[slot % 4];
}

/// The `keep` slots of the largest error, in increasing slot order (ties go to the lower slot). An error
/// must be finite and >= 0; keep at most error.size().
inline std::vector<std::size_t> select_sensitive(const std::vector<double>& error, std::size_t keep) {
  if (keep > error.size()) {
    throw std::runtime_error("minilm: select_sensitive: keep = " + std::to_string(keep) + " exceeds the " +
                             std::to_string(error.size()) + " slots");
  }
  for (std::size_t i = 0; i < error.size(); ++i) {
    if (!(error[i] >= 0.0) || !std::isfinite(error[i])) {
      throw std::runtime_error("minilm: select_sensitive: error[" + std::to_string(i) + "] = " + std::to_string(error[i]) +
                               " is not a finite value >= 0");
    }
  }
  std::vector<std::size_t> order(error.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return error[a] > error[b]; });
  order.resize(keep);
  std::sort(order.begin(), order.end());
  return order;
}

class bert_model {
 public:
  /// Loads dir/config.json and dir/model.safetensors, the linear layers as `v`.
  static bert_model load(const std::string& dir, variant v) {
    const bert_config c = read_config(dir + "/config.json");
    const auto file = qsparse::io::safetensors_file::load(dir + "/model.safetensors");
    return bert_model(c, file, v);
  }

  /// Builds the encoder from a BertModel state dict (tensor names without a "bert." prefix).
  bert_model(const bert_config& c, const qsparse::io::safetensors_file& f, variant v)
      : config_(c), variant_(v), int8_attention_(quantized_attention(v)) {
    const auto h = static_cast<qsparse::index_t>(c.hidden_size);
    const auto i = static_cast<qsparse::index_t>(c.intermediate_size);
    word_ = copy(f, "embeddings.word_embeddings.weight", {c.vocab_size, c.hidden_size});
    position_ = copy(f, "embeddings.position_embeddings.weight", {c.max_positions, c.hidden_size});
    token_type_ = copy(f, "embeddings.token_type_embeddings.weight", {c.type_vocab_size, c.hidden_size});
    emb_gamma_ = copy(f, "embeddings.LayerNorm.weight", {c.hidden_size});
    emb_beta_ = copy(f, "embeddings.LayerNorm.bias", {c.hidden_size});
    const bool mixed = is_mixed(v);
    if (mixed) mixed_keep_ = default_mixed_keep(v, 4 * static_cast<std::size_t>(c.num_layers));
    for (int l = 0; l < c.num_layers; ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      layer ly;
      if (mixed) {
        // Both precisions of every slot, the low one in place: calibrate measures and chooses.
        for (const variant sv : {mixed_high(v), mixed_low(v)}) {
          ly.qkv = make_fused(f, {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"}, h, h, sv);
          ly.o = make(f, p + "attention.output.dense", h, h, sv);
          ly.up = make(f, p + "intermediate.dense", h, i, sv);
          ly.down = make(f, p + "output.dense", i, h, sv);
          if (sv == mixed_high(v)) {
            for (int j = 0; j < 4; ++j) mixed_high_.push_back(std::move(ly.slot(j)));
          }
        }
        for (int j = 0; j < 4; ++j) slot_variant_.push_back(mixed_low(v));
      } else if (detail::fuses_qkv(v)) {
        ly.qkv = make_fused(f, {p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"}, h, h, v);
      } else {
        ly.q = make(f, p + "attention.self.query", h, h, v);
        ly.k = make(f, p + "attention.self.key", h, h, v);
        ly.v = make(f, p + "attention.self.value", h, h, v);
      }
      if (!mixed) {
        ly.o = make(f, p + "attention.output.dense", h, h, v);
        ly.up = make(f, p + "intermediate.dense", h, i, v);
        ly.down = make(f, p + "output.dense", i, h, v);
        for (int j = 0; j < 4; ++j) slot_variant_.push_back(v);
      }
      ly.ln1_gamma = copy(f, p + "attention.output.LayerNorm.weight", {c.hidden_size});
      ly.ln1_beta = copy(f, p + "attention.output.LayerNorm.bias", {c.hidden_size});
      ly.ln2_gamma = copy(f, p + "output.LayerNorm.weight", {c.hidden_size});
      ly.ln2_beta = copy(f, p + "output.LayerNorm.bias", {c.hidden_size});
      layers_.push_back(std::move(ly));
    }
  }

  const bert_config& config() const noexcept { return config_; }
  variant kind() const noexcept { return variant_; }

  /// Whether the attention products run on qsparse's int8 GEMM (the default for the quantized variants).
  bool int8_attention() const noexcept { return int8_attention_; }
  void set_int8_attention(bool on) noexcept { int8_attention_ = on; }

  /// Whether the int8 attention runs one fused kernel per head where the CPU has one (the default;
  /// detail::has_fused_attention) or the two hybrid_gemm calls: the same bits either way.
  bool fused_attention() const noexcept { return fused_attention_; }
  void set_fused_attention(bool on) noexcept { fused_attention_ = on; }

  /// The linear layer `which` (0 q, 1 k, 2 v, 3 attention output, 4 intermediate, 5 output) of layer l.
  /// When the variant fuses q, k and v (detail::fuses_qkv), 0, 1 and 2 are the one fused layer (3 x hidden outputs).
  const linear& layer_linear(int l, int which) const {
    const layer& ly = layers_.at(static_cast<std::size_t>(l));
    if (which < 0 || which > 5) throw std::runtime_error("minilm: layer_linear: which must be in [0, 5]");
    if (ly.qkv && which < 3) return *ly.qkv;
    const linear* p[] = {ly.q.get(), ly.k.get(), ly.v.get(), ly.o.get(), ly.up.get(), ly.down.get()};
    return *p[which];
  }

  /// Static variants: runs the float32 model over `sentences` (in batches of `batch` sequences) and
  /// freezes every linear layer's activation range from what it saw. Mixed variants: select_layers.
  /// A no-op for the other variants.
  void calibrate(const std::vector<std::vector<std::int32_t>>& sentences, const qsparse::context& ctx = qsparse::context{},
                 std::size_t batch = 16) {
    if (!needs_calibration(variant_)) return;
    if (sentences.empty()) throw std::runtime_error("minilm: calibration needs at least one sentence");
    if (is_mixed(variant_)) {
      select_layers(sentences, ctx, batch);
      return;
    }
    for (layer& l : layers_) {
      for (linear* p : l.linears()) p->begin_calibration();
    }
    calibrating_ = true;
    try {
      for (std::size_t s = 0; s < sentences.size(); s += batch) {
        const std::vector<std::vector<std::int32_t>> b(sentences.begin() + static_cast<std::ptrdiff_t>(s),
                                                       sentences.begin() + static_cast<std::ptrdiff_t>(std::min(s + batch, sentences.size())));
        hidden_states(b, ctx);
      }
    } catch (...) {
      calibrating_ = false;
      throw;
    }
    calibrating_ = false;
    for (layer& l : layers_) {
      for (linear* p : l.linears()) p->end_calibration();
    }
  }

  /// int8-smooth: SmoothQuant's migration strength alpha in [0, 1] for every linear layer (default
  /// default_smooth_alpha), before calibrate.
  void set_smooth_alpha(double alpha) {
    if (variant_ != variant::smooth_int8) {
      throw std::runtime_error(std::string("minilm: set_smooth_alpha: ") + option_name(variant_) + " is not int8-smooth");
    }
    for (layer& l : layers_) {
      for (linear* p : l.linears()) dynamic_cast<smooth_int8_linear&>(*p).set_alpha(alpha);
    }
  }

  /// Mixed variants: how many slots calibrate keeps in the higher precision (default_mixed_keep).
  void set_mixed_keep(std::size_t keep) {
    const std::size_t slots = 4 * static_cast<std::size_t>(config_.num_layers);
    if (!is_mixed(variant_)) throw std::runtime_error(std::string("minilm: set_mixed_keep: ") + option_name(variant_) + " is not a mixed variant");
    if (keep > slots) {
      throw std::runtime_error("minilm: set_mixed_keep: keep = " + std::to_string(keep) + " exceeds the " + std::to_string(slots) + " slots");
    }
    mixed_keep_ = keep;
  }
  std::size_t mixed_keep() const noexcept { return mixed_keep_; }

  /// The variant each slot (slot_name) runs in; for a mixed variant before calibrate, all mixed_low.
  const std::vector<variant>& slot_variants() const noexcept { return slot_variant_; }

  /// Mixed variants after calibrate: each slot's sensitivity, the mean over the calibration sentences of
  /// 1 - cosine(embedding with only that slot in mixed_low and every other in mixed_high, embedding with
  /// all in mixed_high). Empty otherwise.
  const std::vector<double>& sensitivity() const noexcept { return sensitivity_; }

  /// Mixed variants: measures every slot's sensitivity on `sentences` (embedded in batches of `batch`,
  /// the attention as the variant runs it) and keeps the mixed_keep() most sensitive slots
  /// (select_sensitive) in mixed_high, the rest in mixed_low. Once per model.
  void select_layers(const std::vector<std::vector<std::int32_t>>& sentences, const qsparse::context& ctx = qsparse::context{},
                     std::size_t batch = 16) {
    if (!is_mixed(variant_)) throw std::runtime_error(std::string("minilm: select_layers: ") + option_name(variant_) + " is not a mixed variant");
    if (mixed_selected_) throw std::runtime_error("minilm: a mixed variant selects its layers once");
    if (sentences.empty()) throw std::runtime_error("minilm: calibration needs at least one sentence");
    if (batch == 0) throw std::runtime_error("minilm: select_layers: batch must be at least 1");
    const std::size_t slots = slot_variant_.size(), hs = static_cast<std::size_t>(config_.hidden_size);
    // mixed_high_[s] holds the precision slot s does not run in; swap it in and out.
    const auto toggle = [&](std::size_t s) {
      std::swap(layers_[s / 4].slot(static_cast<int>(s % 4)), mixed_high_[s]);
      slot_variant_[s] = slot_variant_[s] == mixed_low(variant_) ? mixed_high(variant_) : mixed_low(variant_);
    };
    const auto embed_all = [&]() {
      std::vector<float> e;
      for (std::size_t s = 0; s < sentences.size(); s += batch) {
        const std::vector<std::vector<std::int32_t>> b(sentences.begin() + static_cast<std::ptrdiff_t>(s),
                                                       sentences.begin() + static_cast<std::ptrdiff_t>(std::min(s + batch, sentences.size())));
        const std::vector<float> o = embed_batch(b, ctx);
        e.insert(e.end(), o.begin(), o.end());
      }
      return e;
    };
    selecting_ = true;
    try {
      for (std::size_t s = 0; s < slots; ++s) toggle(s);  // all high
      const std::vector<float> ref = embed_all();
      std::vector<double> err(slots, 0.0);
      for (std::size_t s = 0; s < slots; ++s) {
        toggle(s);  // only s low
        const std::vector<float> e = embed_all();
        toggle(s);
        double sum = 0.0;
        for (std::size_t k = 0; k < sentences.size(); ++k) {
          double ab = 0.0, aa = 0.0, bb = 0.0;
          for (std::size_t c = 0; c < hs; ++c) {
            const double a = e[k * hs + c], b = ref[k * hs + c];
            ab += a * b;
            aa += a * a;
            bb += b * b;
          }
          sum += 1.0 - ab / std::sqrt(aa * bb);
        }
        err[s] = std::max(0.0, sum / static_cast<double>(sentences.size()));
      }
      std::vector<bool> keep(slots, false);
      for (const std::size_t s : select_sensitive(err, mixed_keep_)) keep[s] = true;
      for (std::size_t s = 0; s < slots; ++s) {
        if (!keep[s]) toggle(s);
      }
      sensitivity_ = std::move(err);
    } catch (...) {
      selecting_ = false;
      throw;
    }
    selecting_ = false;
    mixed_selected_ = true;
    mixed_high_.clear();  // the precision each slot does not run in
  }

  /// The bytes of everything else, kept in float32 by every variant: embeddings and layer norms.
  std::size_t other_bytes() const {
    std::size_t n = word_.size() + position_.size() + token_type_.size() + emb_gamma_.size() + emb_beta_.size();
    for (const layer& l : layers_) n += l.ln1_gamma.size() + l.ln1_beta.size() + l.ln2_gamma.size() + l.ln2_beta.size();
    return n * sizeof(float);
  }

  /// The bytes of the linear layers' weights as this variant stores them (biases included).
  std::size_t linear_bytes() const {
    std::size_t n = 0;
    for (const layer& l : layers_) {
      for (const linear* p : l.linears()) n += p->bytes();
    }
    return n;
  }

  /// The last hidden states of a packed batch: one row of hidden_size per token, sequences one after another.
  std::vector<float> hidden_states(const std::vector<std::vector<std::int32_t>>& batch,
                                   const qsparse::context& ctx = qsparse::context{}) const {
    if (is_mixed(variant_) && !mixed_selected_ && !selecting_) {
      throw std::runtime_error("minilm: a mixed variant ran before calibration (bert_model::calibrate selects its layers)");
    }
    const auto hs = static_cast<std::size_t>(config_.hidden_size);
    std::size_t rows = 0;
    for (std::size_t b = 0; b < batch.size(); ++b) {
      const std::vector<std::int32_t>& ids = batch[b];
      if (ids.empty()) throw std::runtime_error("minilm: sequence " + std::to_string(b) + " of the batch is empty");
      if (ids.size() > static_cast<std::size_t>(config_.max_positions)) {
        throw std::runtime_error("minilm: sequence " + std::to_string(b) + " has " + std::to_string(ids.size()) +
                                 " tokens, more than max_position_embeddings = " + std::to_string(config_.max_positions));
      }
      for (std::int32_t id : ids) {
        if (id < 0 || id >= config_.vocab_size) {
          throw std::runtime_error("minilm: token id " + std::to_string(id) + " of sequence " + std::to_string(b) +
                                   " is outside the vocabulary [0, " + std::to_string(config_.vocab_size) + ")");
        }
      }
      rows += ids.size();
    }
    std::vector<float> x(rows * hs);
    std::vector<std::pair<std::size_t, std::size_t>> tokens;  // row r: (token id, position)
    tokens.reserve(rows);
    for (const std::vector<std::int32_t>& ids : batch) {
      for (std::size_t t = 0; t < ids.size(); ++t) tokens.emplace_back(static_cast<std::size_t>(ids[t]), t);
    }
    // The embeddings and their layer norm, row by row on ctx's threads.
    for_row_chunks(ctx, rows, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t r = r0; r < r1; ++r) {
        const float* w = &word_[tokens[r].first * hs];
        const float* p = &position_[tokens[r].second * hs];
        float* out = &x[r * hs];
        for (std::size_t c = 0; c < hs; ++c) out[c] = (w[c] + token_type_[c]) + p[c];  // torch's order
      }
      detail::layer_norm(x.data() + r0 * hs, r1 - r0, hs, emb_gamma_.data(), emb_beta_.data(), config_.layer_norm_eps);
    });

    const auto is = static_cast<std::size_t>(config_.intermediate_size);
    // q, k and v side by side in one rows x 3 hidden matrix (a fused layer writes it in one product).
    // Per-thread work buffers, reused from call to call (fresh large vectors cost a page fault per 4 KiB).
    thread_local forward_scratch w;
    w.qkv.resize(rows * 3 * hs);
    w.ctxv.resize(rows * hs);
    w.tmp.resize(rows * hs);
    w.up.resize(rows * is);
    w.part.resize(rows * hs);
    std::vector<float>&qkv = w.qkv, &ctxv = w.ctxv, &tmp = w.tmp, &up = w.up, &part = w.part;
    const int m = static_cast<int>(rows);
    for (const layer& l : layers_) {
      if (l.qkv) {
        l.qkv->forward(ctx, x.data(), m, qkv.data());
      } else {
        int which = 0;
        for (const linear* p : {l.q.get(), l.k.get(), l.v.get()}) {
          p->forward(ctx, x.data(), m, part.data());
          for (std::size_t row = 0; row < rows; ++row) {
            std::copy_n(part.data() + row * hs, hs, qkv.data() + row * 3 * hs + static_cast<std::size_t>(which) * hs);
          }
          ++which;
        }
      }
      const qkv_matrix in{qkv.data(), qkv.data() + hs, qkv.data() + 2 * hs, 3 * hs};
      if (int8_attention_ && !calibrating_) {
        attention_int8(batch, in, ctxv, ctx);
      } else {
        attention(batch, in, ctxv, ctx);
      }
      l.o->forward(ctx, ctxv.data(), m, tmp.data());
      residual_layer_norm(ctx, x, tmp, rows, l.ln1_gamma, l.ln1_beta);
      l.up->forward(ctx, x.data(), m, up.data());
      for_row_chunks(ctx, rows, [&](std::size_t r0, std::size_t r1) { detail::gelu(up.data() + r0 * is, (r1 - r0) * is); });
      l.down->forward(ctx, up.data(), m, tmp.data());
      residual_layer_norm(ctx, x, tmp, rows, l.ln2_gamma, l.ln2_beta);
    }
    return x;
  }

  /// Mean-pooled, L2-normalized embeddings of a batch: batch.size() rows of hidden_size.
  std::vector<float> embed_batch(const std::vector<std::vector<std::int32_t>>& batch,
                                 const qsparse::context& ctx = qsparse::context{}) const {
    const auto hs = static_cast<std::size_t>(config_.hidden_size);
    const std::vector<float> x = hidden_states(batch, ctx);
    std::vector<float> out(batch.size() * hs);
    std::size_t r = 0;
    for (std::size_t b = 0; b < batch.size(); ++b) {
      float* e = &out[b * hs];
      for (std::size_t t = 0; t < batch[b].size(); ++t, ++r) {
        for (std::size_t c = 0; c < hs; ++c) e[c] += x[r * hs + c];
      }
      const auto n = static_cast<float>(batch[b].size());
      for (std::size_t c = 0; c < hs; ++c) e[c] /= n;
      double sq = 0.0;
      for (std::size_t c = 0; c < hs; ++c) sq += static_cast<double>(e[c]) * e[c];
      const float norm = std::max(static_cast<float>(std::sqrt(sq)), 1e-12f);
      for (std::size_t c = 0; c < hs; ++c) e[c] /= norm;
    }
    return out;
  }

  /// The embedding of one sequence of token ids.
  std::vector<float> embed(const std::vector<std::int32_t>& ids, const qsparse::context& ctx = qsparse::context{}) const {
    return embed_batch({ids}, ctx);
  }

 private:
  struct layer {
    std::unique_ptr<linear> qkv;  // the fused q | k | v projection (fuses_qkv), else null
    std::unique_ptr<linear> q, k, v, o, up, down;  // q, k, v null when fused
    std::vector<float> ln1_gamma, ln1_beta, ln2_gamma, ln2_beta;

    /// Slot j (0 q | k | v fused, 1 o, 2 up, 3 down) of a model that fuses q, k and v.
    std::unique_ptr<linear>& slot(int j) { return j == 0 ? qkv : j == 1 ? o : j == 2 ? up : down; }

    std::vector<linear*> linears() const {
      std::vector<linear*> out;
      for (linear* p : {qkv.get(), q.get(), k.get(), v.get(), o.get(), up.get(), down.get()}) {
        if (p != nullptr) out.push_back(p);
      }
      return out;
    }
  };

  struct forward_scratch {
    std::vector<float> qkv, ctxv, tmp, up, part;
  };

  /// q, k and v of a packed batch: row r's values at q + r * ld (and k, v), hidden_size of each.
  struct qkv_matrix {
    const float* q;
    const float* k;
    const float* v;
    std::size_t ld;
  };

  /// A copy of a float32 tensor of the given shape (a missing tensor or another shape is an error).
  static std::vector<float> copy(const qsparse::io::safetensors_file& f, const std::string& name,
                                 const std::vector<int>& shape) {
    if (!f.contains(name)) throw std::runtime_error("minilm: the model has no tensor " + name);
    const qsparse::io::tensor_info& info = f.info(name);
    std::vector<qsparse::index_t> want(shape.begin(), shape.end());
    if (info.dtype != qsparse::io::dtype::f32 || info.shape != want) {
      throw std::runtime_error("minilm: tensor " + name + " must be F32 of shape " +
                               qsparse::io::detail::shape_to_string(want) + ", got " +
                               std::string(qsparse::io::dtype_name(info.dtype)) + " " +
                               qsparse::io::detail::shape_to_string(info.shape));
    }
    const qsparse::io::byte_span b = f.bytes(name);
    std::vector<float> out(b.size / sizeof(float));
    std::memcpy(out.data(), b.data, b.size);
    return out;
  }

  /// A linear layer from "<name>.weight" (out × in, torch's layout) and "<name>.bias".
  static std::unique_ptr<linear> make(const qsparse::io::safetensors_file& f, const std::string& name, qsparse::index_t in,
                                      qsparse::index_t out, variant lv) {
    const std::vector<float> w = copy(f, name + ".weight", {static_cast<int>(out), static_cast<int>(in)});
    const std::vector<float> b = copy(f, name + ".bias", {static_cast<int>(out)});
    return make_linear(lv, w.data(), b.data(), static_cast<int>(in), static_cast<int>(out));
  }

  /// One linear layer of the given layers' outputs stacked (the same input; out = the sum of their outputs).
  static std::unique_ptr<linear> make_fused(const qsparse::io::safetensors_file& f, const std::vector<std::string>& names,
                                            qsparse::index_t in, qsparse::index_t out, variant lv) {
    std::vector<float> w, b;
    for (const std::string& name : names) {
      const std::vector<float> wi = copy(f, name + ".weight", {static_cast<int>(out), static_cast<int>(in)});
      const std::vector<float> bi = copy(f, name + ".bias", {static_cast<int>(out)});
      w.insert(w.end(), wi.begin(), wi.end());
      b.insert(b.end(), bi.begin(), bi.end());
    }
    return make_linear(lv, w.data(), b.data(), static_cast<int>(in), static_cast<int>(out) * static_cast<int>(names.size()));
  }

  /// f(r0, r1) over ctx.concurrency() chunks of [0, rows) on ctx's threads (element-wise work: the result
  /// of a row does not depend on the cut).
  template <class F>
  static void for_row_chunks(const qsparse::context& ctx, std::size_t rows, F&& f) {
    const auto chunks = static_cast<std::ptrdiff_t>(std::min<std::size_t>(static_cast<std::size_t>(ctx.concurrency()), std::max<std::size_t>(rows, 1)));
    ctx.run_tasks(chunks, [&](std::ptrdiff_t t) {
      const std::size_t r0 = rows * static_cast<std::size_t>(t) / static_cast<std::size_t>(chunks);
      const std::size_t r1 = rows * static_cast<std::size_t>(t + 1) / static_cast<std::size_t>(chunks);
      if (r1 > r0) f(r0, r1);
    });
  }

  /// x = LayerNorm(tmp + x) row by row (torch's order of the residual add), on ctx's threads.
  void residual_layer_norm(const qsparse::context& ctx, std::vector<float>& x, const std::vector<float>& tmp, std::size_t rows,
                           const std::vector<float>& gamma, const std::vector<float>& beta) const {
    const auto hs = static_cast<std::size_t>(config_.hidden_size);
    for_row_chunks(ctx, rows, [&](std::size_t r0, std::size_t r1) {
      for (std::size_t e = r0 * hs; e < r1 * hs; ++e) x[e] = tmp[e] + x[e];
      detail::layer_norm(x.data() + r0 * hs, r1 - r0, hs, gamma.data(), beta.data(), config_.layer_norm_eps);
    });
  }

  using strided_map = Eigen::Map<row_matrix, 0, Eigen::OuterStride<>>;
  using const_strided_map = Eigen::Map<const row_matrix, 0, Eigen::OuterStride<>>;

  /// The (sequence, head) pairs of a batch: first row of each sequence and its length.
  static std::vector<std::size_t> sequence_starts(const std::vector<std::vector<std::int32_t>>& batch) {
    std::vector<std::size_t> starts(batch.size() + 1, 0);
    for (std::size_t b = 0; b < batch.size(); ++b) starts[b + 1] = starts[b] + batch[b].size();
    return starts;
  }

  /// Row-wise softmax of s (n × n) scaled by `scale`, in place: qsparse::softmax_row (max-subtracted,
  /// exp by a polynomial within a few ulp, divided by the sum; the same bits on every ISA).
  static void softmax_rows(float* s, std::size_t n, float scale) {
    for (std::size_t i = 0; i < n; ++i) qsparse::softmax_row(s + i * n, static_cast<std::ptrdiff_t>(n), scale);
  }

  /// Multi-head self-attention of each sequence over its own tokens in float32 (Eigen's products); ctxv
  /// gets the heads side by side. Tasks are (sequence, head) pairs on ctx's threads.
  void attention(const std::vector<std::vector<std::int32_t>>& batch, const qkv_matrix& in, std::vector<float>& ctxv,
                 const qsparse::context& ctx) const {
    const auto hs = static_cast<Eigen::Index>(config_.hidden_size);
    const auto dh = static_cast<Eigen::Index>(config_.head_dim());
    const auto heads = static_cast<std::size_t>(config_.num_heads);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    const std::vector<std::size_t> starts = sequence_starts(batch);
    ctx.run_tasks(static_cast<std::ptrdiff_t>(batch.size() * heads), [&](std::ptrdiff_t t) {
      const auto b = static_cast<std::size_t>(t) / heads, hd = static_cast<std::size_t>(t) % heads;
      const auto n = static_cast<Eigen::Index>(batch[b].size());
      const auto off = static_cast<Eigen::Index>(starts[b]) * hs + static_cast<Eigen::Index>(hd) * dh;
      const auto ld = static_cast<Eigen::Index>(in.ld);
      const auto in_off = static_cast<Eigen::Index>(starts[b]) * ld + static_cast<Eigen::Index>(hd) * dh;
      const_strided_map qm(in.q + in_off, n, dh, Eigen::OuterStride<>(ld));
      const_strided_map km(in.k + in_off, n, dh, Eigen::OuterStride<>(ld));
      const_strided_map vm(in.v + in_off, n, dh, Eigen::OuterStride<>(ld));
      row_matrix s(n, n);
      s.noalias() = qm * km.transpose();
      softmax_rows(s.data(), static_cast<std::size_t>(n), scale);
      strided_map out(ctxv.data() + off, n, dh, Eigen::OuterStride<>(hs));
      out.noalias() = s * vm;
    });
  }

  /// Per-thread buffers of attention_int8 (reused from call to call): scores, operand scales, int8 operand
  /// and its packed form.
  struct attention_scratch {
    std::vector<float> scores, scale, column_max;
    std::vector<std::int8_t> q;
    std::vector<unsigned char> packed;
  };

  /// The right operand of an attention product as int8 weights (rows × cols, packed K × N into the
  /// scratch): symmetric per column j, scale[j] = max_i |x(i, j)| / 127 (1 for an all-zero column),
  /// q = x / scale[j] rounded half away from zero (qsparse::detail::round_half_away_small: std::round's
  /// values for |y| <= 127). x(i, j) = src[i * row_stride + j] when !transposed, src[j * row_stride + i]
  /// when transposed (then row j of src holds column j: each column is contiguous).
  static qsparse::packed_weights_view quantize_operand(const float* src, std::size_t row_stride, std::size_t rows,
                                                       std::size_t cols, bool transposed, attention_scratch& w) {
    w.scale.resize(cols);
    w.column_max.resize(cols);
    w.q.resize(rows * cols);
    const qsparse::isa_level isa = qsparse::best_isa();
    detail::quantize_operand(isa, src, row_stride, rows, cols, transposed, w.scale.data(), w.column_max.data(), w.q.data());
    const std::int8_t* q = w.q.data();
    const std::size_t bytes = qsparse::packed_weights_size(static_cast<std::int64_t>(rows), static_cast<std::int64_t>(cols), isa);
    if (w.packed.size() < bytes + 64) w.packed.resize(bytes + 64);
    void* buffer = w.packed.data();
    std::size_t space = w.packed.size();
    std::align(64, bytes, buffer, space);
    return qsparse::pack_weights(qsparse::make_view(static_cast<const std::int8_t*>(q), static_cast<qsparse::index_t>(rows),
                                                    static_cast<qsparse::index_t>(cols)),
                                 0, isa, buffer, bytes);
  }

  /// The same attention with both products on qsparse::hybrid_gemm (see the top of this header).
  void attention_int8(const std::vector<std::vector<std::int32_t>>& batch, const qkv_matrix& in, std::vector<float>& ctxv,
                      const qsparse::context& ctx) const {
    const auto hs = static_cast<std::size_t>(config_.hidden_size);
    const auto dh = static_cast<std::size_t>(config_.head_dim());
    const auto heads = static_cast<std::size_t>(config_.num_heads);
    const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
    const std::vector<std::size_t> starts = sequence_starts(batch);
    const qsparse::isa_level isa = qsparse::best_isa();
    if (fused_attention_ && detail::has_fused_attention(isa)) {
      // One fused kernel per head (attention.hpp): the same bits as the two hybrid_gemm calls below.
      ctx.run_tasks(static_cast<std::ptrdiff_t>(batch.size() * heads), [&](std::ptrdiff_t t) {
        thread_local detail::attention_head_scratch w;
        const auto b = static_cast<std::size_t>(t) / heads, hd = static_cast<std::size_t>(t) % heads;
        const std::size_t in_off = starts[b] * in.ld + hd * dh;
        detail::attention_head_int8(isa, in.q + in_off, in.k + in_off, in.v + in_off, in.ld, batch[b].size(), dh, scale,
                                    ctxv.data() + starts[b] * hs + hd * dh, hs, w);
      });
      return;
    }
    ctx.run_tasks(static_cast<std::ptrdiff_t>(batch.size() * heads), [&](std::ptrdiff_t t) {
      const qsparse::context serial;  // the tasks are the parallelism
      thread_local attention_scratch w;
      const auto b = static_cast<std::size_t>(t) / heads, hd = static_cast<std::size_t>(t) % heads;
      const std::size_t n = batch[b].size();
      const std::size_t off = starts[b] * hs + hd * dh;
      const std::size_t in_off = starts[b] * in.ld + hd * dh;
      const auto ni = static_cast<qsparse::index_t>(n), di = static_cast<qsparse::index_t>(dh), hsi = static_cast<qsparse::index_t>(hs);
      const auto ldi = static_cast<qsparse::index_t>(in.ld);
      qsparse::hybrid_params p;
      p.per_channel = true;
      p.input_quantization = qsparse::hybrid_quantization::asymmetric;
      // scores (n × n) = q_h (n × dh) k_h^T (dh × n)
      const qsparse::packed_weights_view kt = quantize_operand(in.k + in_off, in.ld, dh, n, /*transposed=*/true, w);
      w.scores.resize(n * n);
      float* s = w.scores.data();
      p.weight_scales = w.scale.data();
      qsparse::hybrid_gemm(serial, qsparse::make_strided_view(in.q + in_off, {ni, di}, {ldi, 1}), kt,
                           qsparse::make_view(s, ni, ni), p);
      softmax_rows(s, n, scale);
      // context (n × dh) = p (n × n) v_h (n × dh)
      const qsparse::packed_weights_view vw = quantize_operand(in.v + in_off, in.ld, n, dh, /*transposed=*/false, w);
      p.weight_scales = w.scale.data();
      qsparse::hybrid_gemm(serial, qsparse::make_view(static_cast<const float*>(s), ni, ni), vw,
                           qsparse::make_strided_view(ctxv.data() + off, {ni, di}, {hsi, 1}), p);
    });
  }

  bert_config config_;
  variant variant_;
  bool int8_attention_ = false;
  bool fused_attention_ = true;
  bool calibrating_ = false;
  std::vector<variant> slot_variant_;
  // Mixed variants: before calibrate, each slot's mixed_high linear (during select_layers, the precision
  // the slot does not run in); the slots' sensitivity; how many slots stay high.
  std::vector<std::unique_ptr<linear>> mixed_high_;
  std::vector<double> sensitivity_;
  std::size_t mixed_keep_ = 0;
  bool mixed_selected_ = false, selecting_ = false;

  std::vector<float> word_, position_, token_type_, emb_gamma_, emb_beta_;
  std::vector<layer> layers_;
};

}  // namespace minilm
