// examples/demo/cluster.hpp — weight clustering in the demo (issue 26): k-means clustering of every weight
// matrix with qsparse::weight_clusters, cluster-preserving fine-tuning as training hooks, and the int8 model
// whose weighted layers are stored as cluster indices plus a codebook.
//
//   demo::cluster_hooks ch(net, options);        // clusters every weighted layer (k-means++ then Lloyd)
//   demo::train(net, data, o, &ch.hooks());      // optional: cluster-preserving fine-tuning
//   ch.finish();                                 // net's weights := their centroids (TF-MOT's strip_clustering)
//   auto m = demo::make_clustered(net, ch, name, arch, act);
//
// Each K×N weight matrix is clustered in its transposed N×K layout (output channel first: a dense layer's
// OI, a convolution's OHWI), so the stored indices are what qsparse::pack_clustered_weights reads. The
// fine-tuning step is TF-MOT's cluster-preserving training: the forward pass uses each weight's centroid
// (weight_clusters::forward reassigns every weight to its nearest centroid first), the backward pass gives
// the stored weights the gradient of their centroid value unchanged (straight-through) and each centroid the
// sum of its weights' gradients (GradientAggregation.SUM), and Adam (the network's rule and learning rate,
// its own moments) moves the centroids. With preserve_sparsity (clustering a pruned model) the zero weights
// fixed at creation stay zero and get no gradient (TF-MOT's preserve_sparsity).
//
// The model: format int8 (int8 activations, int32 biases, TFLite requantization), every weighted layer with
// storage_kind::clustered. Its codebook is quantized to int8 per output channel (qsparse::quantize_codebook,
// symmetric; a per-tensor codebook gives every column the same scale), so the layer's int8 weights are
// wq[k][n] = q[n][idx[n][k]] with scale[n], the int32 bias is quantized with that scale, and the layer runs
// either on qsparse::gemm_clustered (dense layers with at most 16 clusters: the 4-bit indices are looked up
// in registers) or, for more clusters and for convolutions, on the int8 weights decoded at load
// (qsparse::gemm / conv2d). Both compute the same integers.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "compress.hpp"
#include "model.hpp"
#include "nn.hpp"
#include "qsparse/cluster/packed_clusters.hpp"
#include "qsparse/cluster/weight_clusters.hpp"
#include "qsparse/gemm/packed_clustered_weights.hpp"

namespace demo {

struct cluster_options {
  int clusters = 16;
  bool preserve_sparsity = false;
  bool per_channel = false;  // one codebook per output channel (else one per tensor, TF-MOT's default)
  int kmeans_iterations = 20;
  qsparse::centroid_init init = qsparse::centroid_init::kmeans_plus_plus;
  std::uint64_t seed = 9;
};

/// The index width that holds `clusters` clusters: ceil(log2(clusters)), at least 2 (packed_clusters' range).
inline int cluster_bits(int clusters) {
  if (clusters < 1 || clusters > 256) throw std::invalid_argument("cluster_bits: clusters must be in [1, 256], got " + std::to_string(clusters));
  int b = 2;
  while ((1 << b) < clusters) ++b;
  return b;
}

/// N×K copy of a row-major K×N matrix.
inline matrix transposed(const matrix& w) { return w.transpose(); }

/// One weight_clusters per weighted layer of a network, and the hooks of cluster-preserving fine-tuning.
class cluster_hooks {
 public:
  cluster_hooks(network& net, const cluster_options& o, float lr = 1e-3f) : net_(net), lr_(lr) {
    qsparse::cluster_config config;
    config.clusters = o.clusters;
    config.init = o.init;
    config.preserve_sparsity = o.preserve_sparsity;
    config.per_channel = o.per_channel;
    config.channel_axis = 0;
    config.seed = o.seed;
    config.kmeans_iterations = o.kmeans_iterations;
    for (const parameters& p : net.params()) {
      const matrix wt = transposed(p.w);
      clusters_.push_back(qsparse::cluster_weights(view(wt), config));
      const std::size_t c = static_cast<std::size_t>(clusters_.back().centroids().size());
      m_.emplace_back(c, 0.0f);
      v_.emplace_back(c, 0.0f);
      t_.push_back(0);
    }
    hooks_.weight_forward = [this](int i, const matrix& w, matrix& wq) {
      const matrix wt = transposed(w);
      ct_.resize(wt.rows(), wt.cols());
      clusters_[static_cast<std::size_t>(i)].forward(view(wt), view(ct_));
      wq = ct_.transpose();
    };
    hooks_.weight_backward = [this](int i, const matrix&, matrix& grad) {
      const auto li = static_cast<std::size_t>(i);
      gt_ = grad.transpose();
      clusters_[li].backward(view(gt_), view(gt_), qsparse::gradient_aggregation::sum);
      grad = gt_.transpose();
      adam_step(li);
    };
  }

  cluster_hooks(const cluster_hooks&) = delete;  // the hooks point at this object
  cluster_hooks& operator=(const cluster_hooks&) = delete;

  const training_hooks& hooks() const { return hooks_; }
  const std::vector<qsparse::weight_clusters>& clusters() const { return clusters_; }

  /// Assigns every weight to its nearest centroid once more and writes the clustered values into the
  /// network's weights (TF-MOT's strip_clustering): the float model the int8 model is calibrated on.
  void finish() {
    for (std::size_t i = 0; i < clusters_.size(); ++i) {
      matrix& w = net_.params()[i].w;
      const matrix wt = transposed(w);
      ct_.resize(wt.rows(), wt.cols());
      clusters_[i].forward(view(wt), view(ct_));
      w = ct_.transpose();
    }
  }

 private:
  /// One Adam step on layer i's centroids with their last gradient (the network's rule: Keras' Adam).
  void adam_step(std::size_t i) {
    const float b1 = 0.9f, b2 = 0.999f, eps = 1e-7f;
    const long t = ++t_[i];
    const float lr_t = lr_ * std::sqrt(1.0f - std::pow(b2, static_cast<float>(t))) / (1.0f - std::pow(b1, static_cast<float>(t)));
    const auto g = clusters_[i].centroid_gradient();
    auto c = clusters_[i].centroids();
    for (qsparse::index_t j = 0; j < c.size(); ++j) {
      const auto s = static_cast<std::size_t>(j);
      const float gj = g.data_handle()[j];
      m_[i][s] = b1 * m_[i][s] + (1.0f - b1) * gj;
      v_[i][s] = b2 * v_[i][s] + (1.0f - b2) * gj * gj;
      c.data_handle()[j] -= lr_t * m_[i][s] / (std::sqrt(v_[i][s]) + eps);
    }
  }

  network& net_;
  float lr_;
  std::vector<qsparse::weight_clusters> clusters_;
  std::vector<std::vector<float>> m_, v_;
  std::vector<long> t_;
  training_hooks hooks_;
  matrix ct_, gt_;
};

/// A clustered layer's int8 weights (K×N) and per-channel scales from its stored clusters (N×K, axis 0 or
/// -1): the codebook quantized to int8 as qsparse::pack_clustered_weights quantizes it.
inline void decode_clusters(qlayer& l) {
  const qsparse::packed_clusters& c = *l.clusters;
  const int k = l.spec.k(), n = l.spec.out_c;
  const std::vector<qsparse::index_t> shape = c.shape();
  if (shape.size() != 2 || shape[0] != n || shape[1] != k)
    throw std::runtime_error("clustered weights of layer " + std::string(to_string(l.spec.kind)) + " must be N x K = " +
                             std::to_string(n) + " x " + std::to_string(k));
  if (c.channel_axis() != 0 && c.channel_axis() != -1)
    throw std::runtime_error("clustered weights: the codebook must be per output channel (axis 0) or per tensor (-1), got axis " +
                             std::to_string(c.channel_axis()));
  const qsparse::index_t books = c.channel_axis() == 0 ? n : 1;
  const qsparse::int8_codebook q = qsparse::quantize_codebook(c.codebook().data(), books, c.clusters());
  l.wq.assign(static_cast<std::size_t>(k) * static_cast<std::size_t>(n), 0);
  l.w_scale.assign(static_cast<std::size_t>(n), 0.0f);
  for (int col = 0; col < n; ++col) {
    const std::size_t b = books == 1 ? 0 : static_cast<std::size_t>(col);
    l.w_scale[static_cast<std::size_t>(col)] = q.scales[b];
    for (int kk = 0; kk < k; ++kk) {
      const std::int32_t j = c.index(static_cast<qsparse::index_t>(col) * k + kk);
      l.wq[static_cast<std::size_t>(kk) * static_cast<std::size_t>(n) + static_cast<std::size_t>(col)] =
          q.values[b * static_cast<std::size_t>(c.clusters()) + static_cast<std::size_t>(j)];
    }
  }
}

/// The int8 model of a clustered network (after cluster_hooks::finish): every weighted layer stored as
/// `bits`-wide indices (0: the fewest that hold the clusters) plus its float codebook; activation
/// parameters from `act` (calibrate's layout).
inline qmodel make_clustered(const network& net, const cluster_hooks& ch, const std::string& name, const std::string& arch,
                             const activation_params& act, int bits = 0) {
  return make_int8_model(net, name, arch, act, [&](qlayer& l, const parameters&, std::size_t j) {
    const qsparse::weight_clusters& c = ch.clusters()[j];
    l.storage = storage_kind::clustered;
    l.clusters = std::make_shared<qsparse::packed_clusters>(
        qsparse::packed_clusters::pack(c, bits > 0 ? bits : cluster_bits(c.clusters())));
    decode_clusters(l);
  });
}

}  // namespace demo
