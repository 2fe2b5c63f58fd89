// qsparse/cluster/weight_clusters.hpp — weight clustering (weight sharing) as TF-MOT's ClusterWeights wrapper
// runs it, step by step from any training loop.
//
//   qsparse::cluster_config config;                 // 16 clusters, k-means++ (TF-MOT's defaults)
//   config.init = qsparse::centroid_init::linear;
//   auto clusters = qsparse::cluster_weights(weights, config);          // TF-MOT's build()
//   for (...) {
//     clusters.forward(weights, clustered);         // TF-MOT's call(): reassign, write centroid values
//     ... run the layer on `clustered`, backward gives grad_clustered ...
//     clusters.backward(grad_clustered, grad_weights);   // straight-through: grad_weights = grad_clustered
//     ... optimizer: weights -= lr * grad_weights; clusters.centroids() -= lr * clusters.centroid_gradient()
//   }
//   auto exported = clusters.strip(weights);        // TF-MOT's strip_clustering: plain clustered weights
//
// State (all of it in this object): the centroids, [channels][clusters] (channels = 1 per tensor); the
// index of every weight's centroid in row-major order (TF-MOT's pulling indices); with preserve_sparsity
// the sparsity mask and each channel's zero-centroid index, both fixed at creation as TF-MOT fixes them.
// The weights themselves stay in the caller's memory and keep training (TF-MOT's "original weights").
//
//   create    initial_centroids per channel (centroids.hpp); with kmeans_iterations > 0 Lloyd's rounds
//             (assign.hpp, a qsparse addition: TF-MOT trains the centroids instead); indices = nearest
//             centroid; preserve_sparsity: mask = (centroid of the weight != 0), zero index = argmin |c|.
//   forward   preserve_sparsity: every centroid equal to the zero centroid's value is reset to +0, and
//             masked weights count as 0; indices = nearest centroid of each weight; clustered = centroid.
//   backward  grad_weights = grad_clustered (0 where the sparsity mask is 0) — the straight-through
//             estimator; centroid gradient = Σ grad_clustered over each cluster's weights in float32, in
//             row-major order (sum), or that sum divided by the cluster's size, 0 for an empty cluster
//             (average: TF-MOT's GradientAggregation.AVG, divide_no_nan).
//
// Per channel (TF-MOT's cluster_per_channel): each slice along `channel_axis` has its own centroids;
// axis 0 is the output channel of OHWI / OI weights (TF-MOT clusters Keras HWIO kernels along the last
// axis: channel_axis = -1). Weights and centroids must be finite: a NaN or infinity is a qsparse::error
// naming its position. Views of any layout and rank are accepted.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/cluster/assign.hpp"
#include "qsparse/cluster/centroids.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

/// TF-MOT's ClusterWeights parameters, plus the qsparse additions (channel axis, seed, Lloyd rounds).
struct cluster_config {
  int clusters = 16;                                       ///< number_of_clusters, >= 1 (TF-MOT: >= 2)
  centroid_init init = centroid_init::kmeans_plus_plus;    ///< cluster_centroids_init
  bool preserve_sparsity = false;                          ///< zeros stay zeros
  bool per_channel = false;                                ///< cluster_per_channel
  int channel_axis = 0;                                    ///< Python-style; 0 = O of OHWI / OI
  std::uint64_t seed = 9;                                  ///< kmeans_plus_plus and random only
  int kmeans_iterations = 0;                               ///< Lloyd rounds after the initialization
};

/// TF-MOT's GradientAggregation.
enum class gradient_aggregation : std::uint8_t { sum, average };

class weight_clusters {
 public:
  weight_clusters() = default;

  template <class W>
  static weight_clusters create(const W& weights, const cluster_config& config) {
    static_assert(is_tensor_view_v<W> && std::is_same_v<typename W::value_type, float>,
                  "qsparse::cluster_weights: weights must be a tensor_view of float.");
    constexpr const char* who = "qsparse::cluster_weights";
    detail::check(config.clusters >= 1, who, ": clusters must be at least 1, got clusters = ", config.clusters);
    detail::check(config.kmeans_iterations >= 0, who, ": kmeans_iterations must be >= 0, got kmeans_iterations = ",
                  config.kmeans_iterations);
    weight_clusters c;
    c.clusters_ = config.clusters;
    c.preserve_ = config.preserve_sparsity;
    for (std::size_t r = 0; r < W::rank(); ++r) c.shape_.push_back(weights.extent(r));
    c.size_ = weights.size();
    detail::check(c.size_ >= 1, who, ": weights must hold at least one element, got extents ",
                  to_string(weights.extents()));
    if (config.per_channel) {
      const int rank = static_cast<int>(W::rank());
      detail::check(config.channel_axis >= -rank && config.channel_axis < rank, who,
                    ": channel_axis must be in [-rank, rank) for weights of rank ", rank, ", got channel_axis = ",
                    config.channel_axis);
      c.axis_ = config.channel_axis < 0 ? config.channel_axis + rank : config.channel_axis;
      c.channels_ = weights.extent(static_cast<std::size_t>(c.axis_));
      c.inner_ = 1;
      for (std::size_t r = static_cast<std::size_t>(c.axis_) + 1; r < W::rank(); ++r) c.inner_ *= weights.extent(r);
    } else {
      c.axis_ = -1;
      c.channels_ = 1;
      c.inner_ = c.size_;
    }
    c.build(gather(weights, who, "weights"), config);
    return c;
  }

  // ---- observers -------------------------------------------------------------------------------
  int clusters() const noexcept { return clusters_; }
  index_t channels() const noexcept { return channels_; }
  /// The channel axis (non-negative), or -1 per tensor.
  int channel_axis() const noexcept { return axis_; }
  index_t size() const noexcept { return size_; }
  const std::vector<index_t>& shape() const noexcept { return shape_; }
  bool preserves_sparsity() const noexcept { return preserve_; }
  /// The channel of the weight at row-major position `flat`.
  index_t channel_of(index_t flat) const noexcept { return axis_ < 0 ? 0 : (flat / inner_) % channels_; }

  /// [channels][clusters]; a training loop's optimizer updates them in place.
  tensor_view<float, 2> centroids() noexcept { return make_view(centroids_.data(), channels_, index_t{clusters_}); }
  tensor_view<const float, 2> centroids() const noexcept {
    return make_view(static_cast<const float*>(centroids_.data()), channels_, index_t{clusters_});
  }
  /// The centroid gradient of the last backward(), [channels][clusters].
  tensor_view<const float, 2> centroid_gradient() const noexcept {
    return make_view(static_cast<const float*>(gradient_.data()), channels_, index_t{clusters_});
  }
  /// Each weight's centroid index (into its channel's row), row-major.
  const std::vector<std::int32_t>& indices() const noexcept { return indices_; }
  /// preserve_sparsity: 1 where the weight may be non-zero (fixed at creation); empty otherwise.
  const std::vector<std::uint8_t>& sparsity_mask() const noexcept { return mask_; }
  /// preserve_sparsity: each channel's zero-centroid index; empty otherwise.
  const std::vector<std::int32_t>& zero_index() const noexcept { return zero_index_; }

  // ---- the training step -----------------------------------------------------------------------
  template <class W, class O>
  void forward(const W& weights, const O& clustered) {
    constexpr const char* who = "qsparse::weight_clusters::forward";
    check_shape(weights, who, "weights");
    check_shape(clustered, who, "clustered");
    std::vector<float> flat = gather(weights, who, "weights");
    assign(flat, who);
    detail::for_each_index(clustered.extents(), [&, f = index_t{0}](const auto& i) mutable {
      clustered[i] = value_at(f);
      ++f;
    });
  }

  template <class G, class O>
  void backward(const G& grad_clustered, const O& grad_weights,
                gradient_aggregation aggregation = gradient_aggregation::sum) {
    constexpr const char* who = "qsparse::weight_clusters::backward";
    check_shape(grad_clustered, who, "grad_clustered");
    check_shape(grad_weights, who, "grad_weights");
    detail::check(!indices_.empty(), who, ": call create (cluster_weights) first");
    std::vector<float> grad(static_cast<std::size_t>(size_));
    detail::for_each_index(grad_clustered.extents(), [&, f = std::size_t{0}](const auto& i) mutable {
      grad[f++] = static_cast<float>(grad_clustered[i]);
    });
    accumulate_gradient(grad, aggregation);
    detail::for_each_index(grad_weights.extents(), [&, f = std::size_t{0}](const auto& i) mutable {
      grad_weights[i] = (preserve_ && mask_[f] == 0) ? 0.0f : grad[f];
      ++f;
    });
  }

  /// TF-MOT's strip_clustering: one forward() into a new tensor of plain (clustered) weights.
  template <class W>
  tensor<float, W::rank()> strip(const W& weights) {
    tensor<float, W::rank()> out(weights.extents());
    forward(weights, out.view());
    return out;
  }

  /// The clustered weights of the current indices and centroids (no reassignment), row-major.
  template <class O>
  void write_clustered(const O& out) const {
    check_shape(out, "qsparse::weight_clusters::write_clustered", "out");
    detail::for_each_index(out.extents(), [&, f = index_t{0}](const auto& i) mutable {
      out[i] = value_at(f);
      ++f;
    });
  }

 private:
  template <class W>
  static std::vector<float> gather(const W& w, const char* who, const char* name) {
    std::vector<float> flat;
    flat.reserve(static_cast<std::size_t>(w.size()));
    detail::for_each_index(w.extents(), [&](const auto& i) {
      const float v = static_cast<float>(w[i]);
      if (!std::isfinite(v))
        detail::raise(detail::concat(who, ": ", name, " must be finite, got ", v, " at row-major position ",
                                     flat.size()));
      flat.push_back(v);
    });
    return flat;
  }

  template <class V>
  void check_shape(const V& v, const char* who, const char* name) const {
    bool same = V::rank() == shape_.size();
    for (std::size_t r = 0; same && r < V::rank(); ++r) same = v.extent(r) == shape_[r];
    if (!same) detail::raise(detail::concat(who, ": ", name, " has extents ", to_string(v.extents()),
                                            ", the clustered weights have ", shape_string()));
  }

  std::string shape_string() const {
    std::string s = "[";
    for (std::size_t r = 0; r < shape_.size(); ++r) s += (r == 0 ? "" : ", ") + std::to_string(shape_[r]);
    return s + "]";
  }

  float value_at(index_t f) const noexcept {
    return centroids_[static_cast<std::size_t>(channel_of(f) * clusters_ + indices_[static_cast<std::size_t>(f)])];
  }

  /// Every channel's values in row-major order, in one pass.
  std::vector<std::vector<float>> channel_values(const std::vector<float>& flat) const {
    std::vector<std::vector<float>> v(static_cast<std::size_t>(channels_));
    if (axis_ < 0) {
      v[0] = flat;
      return v;
    }
    for (auto& c : v) c.reserve(static_cast<std::size_t>(size_ / channels_));
    for (index_t f = 0; f < size_; ++f) v[static_cast<std::size_t>(channel_of(f))].push_back(flat[static_cast<std::size_t>(f)]);
    return v;
  }

  void build(const std::vector<float>& flat, const cluster_config& config) {
    const auto k = static_cast<std::size_t>(clusters_);
    centroids_.assign(static_cast<std::size_t>(channels_) * k, 0.0f);
    gradient_.assign(centroids_.size(), 0.0f);
    if (preserve_) zero_index_.assign(static_cast<std::size_t>(channels_), 0);
    const std::vector<std::vector<float>> values = channel_values(flat);
    for (index_t ch = 0; ch < channels_; ++ch) {
      const std::vector<float>& v = values[static_cast<std::size_t>(ch)];
      std::vector<float> c = initial_centroids(v.data(), v.size(), clusters_, config.init, preserve_,
                                               config.seed + 2 * static_cast<std::uint64_t>(ch));
      std::int32_t zero = -1;
      if (preserve_) {
        zero = 0;
        for (std::size_t j = 1; j < k; ++j)
          if (std::fabs(c[j]) < std::fabs(c[static_cast<std::size_t>(zero)])) zero = static_cast<std::int32_t>(j);
      }
      if (config.kmeans_iterations > 0) refine_centroids(v.data(), v.size(), c.data(), k, config.kmeans_iterations, zero);
      std::copy(c.begin(), c.end(), centroids_.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(ch) * k));
      if (preserve_) zero_index_[static_cast<std::size_t>(ch)] = zero;
    }
    indices_.assign(static_cast<std::size_t>(size_), 0);
    for (index_t f = 0; f < size_; ++f) {
      const float* c = centroids_.data() + channel_of(f) * clusters_;
      indices_[static_cast<std::size_t>(f)] = nearest_centroid(flat[static_cast<std::size_t>(f)], c, k);
    }
    if (preserve_) {
      mask_.assign(static_cast<std::size_t>(size_), 0);
      for (index_t f = 0; f < size_; ++f) mask_[static_cast<std::size_t>(f)] = value_at(f) != 0.0f ? 1 : 0;
    }
  }

  void assign(std::vector<float>& flat, const char* who) {
    detail::check(!indices_.empty(), who, ": call create (cluster_weights) first");
    const auto k = static_cast<std::size_t>(clusters_);
    for (std::size_t i = 0; i < centroids_.size(); ++i)
      if (!std::isfinite(centroids_[i]))
        detail::raise(detail::concat(who, ": centroid ", i % k, " of channel ", i / k, " must be finite, got ",
                                     centroids_[i]));
    if (preserve_) {
      for (index_t ch = 0; ch < channels_; ++ch) {
        float* c = centroids_.data() + ch * clusters_;
        const float zero_value = c[zero_index_[static_cast<std::size_t>(ch)]];
        for (std::size_t j = 0; j < k; ++j)
          if (c[j] == zero_value) c[j] = 0.0f;
      }
      for (std::size_t f = 0; f < flat.size(); ++f)
        if (mask_[f] == 0) flat[f] = 0.0f;
    }
    for (index_t f = 0; f < size_; ++f) {
      const float* c = centroids_.data() + channel_of(f) * clusters_;
      indices_[static_cast<std::size_t>(f)] = nearest_centroid(flat[static_cast<std::size_t>(f)], c, k);
    }
  }

  void accumulate_gradient(const std::vector<float>& grad, gradient_aggregation aggregation) {
    std::fill(gradient_.begin(), gradient_.end(), 0.0f);
    std::vector<std::int64_t> members(gradient_.size(), 0);
    for (index_t f = 0; f < size_; ++f) {
      const auto slot = static_cast<std::size_t>(channel_of(f) * clusters_ + indices_[static_cast<std::size_t>(f)]);
      gradient_[slot] += grad[static_cast<std::size_t>(f)];
      ++members[slot];
    }
    if (aggregation == gradient_aggregation::average)
      for (std::size_t s = 0; s < gradient_.size(); ++s)
        gradient_[s] = members[s] == 0 ? 0.0f : gradient_[s] / static_cast<float>(members[s]);
  }

  int clusters_ = 0;
  bool preserve_ = false;
  int axis_ = -1;
  index_t channels_ = 0;
  index_t inner_ = 1;
  index_t size_ = 0;
  std::vector<index_t> shape_;
  std::vector<float> centroids_;
  std::vector<float> gradient_;
  std::vector<std::int32_t> indices_;
  std::vector<std::uint8_t> mask_;
  std::vector<std::int32_t> zero_index_;
};

/// TF-MOT's cluster_weights for one weight tensor: initial centroids, (optional Lloyd rounds), indices.
template <class W>
weight_clusters cluster_weights(const W& weights, const cluster_config& config) {
  return weight_clusters::create(weights, config);
}

}  // namespace qsparse
