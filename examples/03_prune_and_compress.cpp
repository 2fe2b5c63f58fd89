// Example 03: prune a layer during training on a TF-MOT schedule, then store it compressed.
//
// A linear layer y = W x (W is N×K, PyTorch's [out][in]) learns a teacher whose weights are block-sparse.
// A plain SGD loop calls the pruner once per step, the way TF-MOT's Keras wrapper does: the mask follows
// polynomial_decay(0 -> 75 %) in blocks of 4 consecutive inputs of one output (block_mask<1, 4> on N×K,
// the shape a 4-wide int8 dot product can skip), and mask_gradient keeps pruned weights at zero. The
// pruned weights are then stored in three compressed formats and expanded back bit-exactly.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/sparsity/bitmask_values.hpp"
#include "qsparse/sparsity/block_csr.hpp"
#include "qsparse/sparsity/block_mask.hpp"
#include "qsparse/sparsity/csr.hpp"
#include "qsparse/sparsity/pruner.hpp"
#include "qsparse/sparsity/schedule.hpp"
#include "qsparse/sparsity/statistics.hpp"

namespace {

constexpr qsparse::index_t N = 32, K = 64, batch = 16;

// Mean squared error of W against the teacher on a fixed evaluation batch.
double evaluate(const qsparse::tensor<float, 2>& w, const qsparse::tensor<float, 2>& teacher,
                const std::vector<float>& x_eval, qsparse::index_t count) {
  double error = 0;
  for (qsparse::index_t s = 0; s < count; ++s) {
    const float* x = x_eval.data() + s * K;
    for (qsparse::index_t n = 0; n < N; ++n) {
      double y = 0, t = 0;
      for (qsparse::index_t k = 0; k < K; ++k) {
        y += static_cast<double>(w(n, k)) * x[k];
        t += static_cast<double>(teacher(n, k)) * x[k];
      }
      error += (y - t) * (y - t);
    }
  }
  return error / static_cast<double>(count * N);
}

}  // namespace

int main() {
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);

  // The teacher: about 20 % of its 1×4 blocks (along K) carry weight, the rest is zero; pruning to 75 %
  // keeps 128 of the 512 blocks, room for all of them.
  qsparse::tensor<float, 2> teacher(N, K);
  for (qsparse::index_t n = 0; n < N; ++n)
    for (qsparse::index_t kb = 0; kb < K; kb += 4)
      if (rng() % 5 == 0)
        for (qsparse::index_t k = kb; k < kb + 4; ++k) teacher(n, k) = normal(rng);

  qsparse::tensor<float, 2> w(N, K);
  for (auto& v : w) v = 0.1f * normal(rng);
  qsparse::tensor<std::uint8_t, 2> mask(N, K);
  qsparse::fill_mask(mask.view());

  std::vector<float> x_eval(static_cast<std::size_t>(256 * K));
  for (auto& v : x_eval) v = normal(rng);

  using prune = qsparse::pruner<qsparse::polynomial_decay, qsparse::block_mask<1, 4>>;
  const prune pruner(qsparse::polynomial_decay(0.0, 0.75, /*begin_step=*/0, /*end_step=*/400, /*power=*/3,
                                               /*frequency=*/20));

  std::printf("step  scheduled  actual  threshold  eval mse\n");
  std::vector<float> x(static_cast<std::size_t>(batch * K));
  qsparse::tensor<float, 2> gradient(N, K);
  const float learning_rate = 0.02f;
  for (std::int64_t step = 1; step <= 600; ++step) {  // Keras counts steps from 1
    const qsparse::pruning_summary s = pruner.step(step, w.view(), mask.view());
    for (auto& v : x) v = normal(rng);
    for (auto& g : gradient) g = 0.0f;
    for (qsparse::index_t b = 0; b < batch; ++b) {
      const float* xb = x.data() + b * K;
      for (qsparse::index_t n = 0; n < N; ++n) {
        float y = 0, t = 0;
        for (qsparse::index_t k = 0; k < K; ++k) {
          y += w(n, k) * xb[k];
          t += teacher(n, k) * xb[k];
        }
        const float d = 2.0f * (y - t) / static_cast<float>(batch);
        for (qsparse::index_t k = 0; k < K; ++k) gradient(n, k) += d * xb[k];
      }
    }
    qsparse::mask_gradient(gradient.view(), mask.view());  // pruned weights stay pruned
    for (qsparse::index_t i = 0; i < w.size(); ++i) w.data()[i] -= learning_rate * gradient.data()[i];
    if (step % 100 == 0) {
      char threshold[16] = "        -";  // the mask changes only at pruning steps
      if (s.mask_updated) std::snprintf(threshold, sizeof threshold, "%9.6f", s.threshold);
      std::printf("%4lld  %9.4f  %6.4f  %s  %8.5f\n", static_cast<long long>(step), s.scheduled_sparsity,
                  s.actual_sparsity(), threshold, evaluate(w, teacher, x_eval, 256));
    }
  }

  const qsparse::tensor<float, 2> final_weights = qsparse::strip(w.view(), mask.view());
  const auto per_block = qsparse::nonzeros_per_block(final_weights.view(), 1, 4);
  int full = 0, empty = 0;
  for (const auto c : per_block) {
    full += c == 4;
    empty += c == 0;
  }
  std::printf("final sparsity %.4f; 1x4 blocks: %d full, %d empty, %d partial\n",
              qsparse::sparsity_of(final_weights.view()), full, empty,
              static_cast<int>(per_block.size()) - full - empty);

  // Compress: the weights are N×K ([out][in]); blocks of 4 along K are block_k = 4, block_n = 1.
  const auto blocks = qsparse::block_csr<float, std::uint16_t>::from_nk(final_weights.view(), 4, 1);
  const auto rows = qsparse::csr<float, std::uint16_t>::from_nk(final_weights.view());
  const auto bits = qsparse::bitmask_values<float>::from_nk(final_weights.view());
  std::printf("dense %zu bytes; block_csr 4 along K %zu; csr %zu; bitmask %zu\n", blocks.dense_bytes(),
              blocks.size_bytes(), rows.size_bytes(), bits.size_bytes());

  qsparse::tensor<float, 2> back(N, K);
  blocks.to_nk(back.view());
  const bool same = std::memcmp(back.data(), final_weights.data(), sizeof(float) * N * K) == 0;
  std::printf("round trip through block_csr: %s\n", same ? "bit-exact" : "DIFFERENT");
  return same ? 0 : 1;
}
