// 01_quantize_dequantize — quantize a real tensor with the library's schemes and print the error table.
//
// The tensor is the Fashion-MNIST test set (10,000 images of 28x28, Debian package dataset-fashion-mnist),
// standardised per pixel as a training pipeline would feed it to a network: x = (p / 255 - mean) / std.
// Each scheme quantizes it and dequantizes it back; the table shows the size, the error and the speed.
//
//   01_quantize_dequantize [--data DIR]     DIR holds t10k-images-idx3-ubyte.gz
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/float16.hpp"
#include "qsparse/quant/quantize.hpp"

namespace {

struct images {
  qsparse::index_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;
};

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

images read_idx_images(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw std::runtime_error("cannot open " + path + " (install dataset-fashion-mnist or pass --data DIR)");
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  int got = 0;
  while ((got = gzread(file, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + got);
  const bool failed = got < 0;
  gzclose(file);
  if (failed) throw std::runtime_error(path + ": corrupt gzip stream");
  if (bytes.size() < 16 || big_endian(bytes.data()) != 0x00000803u)
    throw std::runtime_error(path + ": not an IDX file of unsigned-byte images (magic 0x00000803)");
  images out;
  out.count = big_endian(bytes.data() + 4);
  out.rows = big_endian(bytes.data() + 8);
  out.cols = big_endian(bytes.data() + 12);
  const std::size_t expected = 16 + static_cast<std::size_t>(out.count * out.rows * out.cols);
  if (bytes.size() != expected)
    throw std::runtime_error(path + ": truncated or oversized: " + std::to_string(bytes.size()) + " bytes, header says " +
                             std::to_string(expected));
  out.pixels.assign(bytes.begin() + 16, bytes.end());
  return out;
}

struct row {
  std::string scheme;
  double bytes, max_error, rmse, sqnr_db, quantize_gbs;
};

double median_seconds(std::vector<double> t) {
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

template <class Fn>
double time_median(Fn&& fn) {
  std::vector<double> t;
  for (int i = 0; i < 9; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return median_seconds(t);
}

row measure(const std::string& name, const std::vector<float>& x, const std::vector<float>& back, double bytes,
            double seconds) {
  double max_error = 0, error2 = 0, signal2 = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = static_cast<double>(back[i]) - x[i];
    max_error = std::max(max_error, std::fabs(e));
    error2 += e * e;
    signal2 += static_cast<double>(x[i]) * x[i];
  }
  const double n = static_cast<double>(x.size());
  return {name, bytes, max_error, std::sqrt(error2 / n), 10.0 * std::log10(signal2 / std::max(error2, 1e-300)),
          n * sizeof(float) / seconds / 1e9};
}

template <class Scheme>
row run_per_tensor(const std::string& name, const std::vector<float>& x, float lo, float hi) {
  using T = typename Scheme::value_type;
  const auto p = qsparse::choose_params<Scheme>(lo, hi);
  const auto n = static_cast<qsparse::index_t>(x.size());
  std::vector<T> q(x.size());
  std::vector<float> back(x.size());
  const auto xv = qsparse::make_view(x.data(), n);
  const auto qv = qsparse::make_view(q.data(), n);
  const double seconds = time_median([&] { qsparse::quantize<Scheme>(xv, qv, p); });
  qsparse::dequantize<Scheme>(qsparse::make_view(static_cast<const T*>(q.data()), n), qsparse::make_view(back.data(), n), p);
  return measure(name, x, back, static_cast<double>(q.size() * sizeof(T)) + 8, seconds);
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--data DIR]\n", argv[0]);
      return 2;
    }
  }
  try {
    const images data = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
    const qsparse::index_t pixels = data.rows * data.cols;
    // Standardise per pixel (the real tensor a first layer sees).
    std::vector<double> mean(static_cast<std::size_t>(pixels)), sd(static_cast<std::size_t>(pixels));
    for (qsparse::index_t i = 0; i < data.count; ++i)
      for (qsparse::index_t p = 0; p < pixels; ++p) mean[p] += data.pixels[i * pixels + p] / 255.0;
    for (auto& m : mean) m /= static_cast<double>(data.count);
    for (qsparse::index_t i = 0; i < data.count; ++i)
      for (qsparse::index_t p = 0; p < pixels; ++p) {
        const double d = data.pixels[i * pixels + p] / 255.0 - mean[p];
        sd[p] += d * d;
      }
    for (auto& s : sd) s = std::sqrt(s / static_cast<double>(data.count)) + 1e-3;
    std::vector<float> x(data.pixels.size());
    for (qsparse::index_t i = 0; i < data.count; ++i)
      for (qsparse::index_t p = 0; p < pixels; ++p)
        x[i * pixels + p] = static_cast<float>((data.pixels[i * pixels + p] / 255.0 - mean[p]) / sd[p]);
    const auto [lo_it, hi_it] = std::minmax_element(x.begin(), x.end());
    const float lo = *lo_it, hi = *hi_it;

    std::vector<row> rows;
    rows.push_back(run_per_tensor<qsparse::tflite_int8_activation>("int8 affine per-tensor (TFLite)", x, lo, hi));
    rows.push_back(run_per_tensor<qsparse::torch_quint8>("uint8 affine per-tensor (PyTorch)", x, lo, hi));
    rows.push_back(run_per_tensor<qsparse::torch_qint8>("int8 symmetric per-tensor (PyTorch)", x, lo, hi));
    rows.push_back(run_per_tensor<qsparse::tflite_int16_activation>("int16 symmetric (TFLite 16x8)", x, lo, hi));
    {  // per channel: one range per pixel (axis 1 of the [images, pixels] matrix)
      using S = qsparse::scheme<std::int8_t, qsparse::per_channel, qsparse::affine, qsparse::round_half_away_from_zero>;
      std::vector<float> mins(static_cast<std::size_t>(pixels), 0.0f), maxs(static_cast<std::size_t>(pixels), 0.0f);
      for (qsparse::index_t i = 0; i < data.count; ++i)
        for (qsparse::index_t p = 0; p < pixels; ++p) {
          mins[p] = std::min(mins[p], x[i * pixels + p]);
          maxs[p] = std::max(maxs[p], x[i * pixels + p]);
        }
      std::vector<float> scales(mins.size());
      std::vector<std::int32_t> zps(mins.size());
      const auto params = qsparse::choose_params<S>(mins.data(), maxs.data(), pixels, 1, scales.data(), zps.data());
      qsparse::tensor<std::int8_t, 2> q(data.count, pixels);
      std::vector<float> back(x.size());
      const auto xv = qsparse::make_view(x.data(), data.count, pixels);
      const double seconds = time_median([&] { qsparse::quantize<S>(xv, q.view(), params); });
      qsparse::dequantize<S>(std::as_const(q).view(), qsparse::make_view(back.data(), data.count, pixels), params);
      rows.push_back(measure("int8 affine per-channel (pixel axis)", x, back,
                             static_cast<double>(q.size()) + 8.0 * static_cast<double>(pixels), seconds));
    }
    {
      std::vector<qsparse::float16> h(x.size());
      std::vector<float> back(x.size());
      const auto n = static_cast<std::ptrdiff_t>(x.size());
      const double seconds = time_median([&] { qsparse::to_float16(x.data(), h.data(), n); });
      qsparse::to_float32(h.data(), back.data(), n);
      rows.push_back(measure("float16 (IEEE, round to nearest even)", x, back, 2.0 * static_cast<double>(x.size()), seconds));
    }

    std::printf("qsparse %s: Fashion-MNIST test images, standardised per pixel: %lld x %lld floats, range [%.3f, %.3f]\n",
                qsparse::to_string(qsparse::best_isa()), static_cast<long long>(data.count),
                static_cast<long long>(pixels), lo, hi);
    std::printf("float32: %.0f bytes\n\n", 4.0 * static_cast<double>(x.size()));
    std::printf("| %-38s | %10s | %6s | %9s | %9s | %9s | %13s |\n", "scheme", "bytes", "ratio", "max |err|", "RMSE",
                "SQNR dB", "quantize GB/s");
    std::printf("|%s|%s|%s|%s|%s|%s|%s|\n", std::string(40, '-').c_str(), std::string(12, '-').c_str(),
                std::string(8, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str(),
                std::string(11, '-').c_str(), std::string(15, '-').c_str());
    for (const auto& r : rows) {
      std::printf("| %-38s | %10.0f | %5.2fx | %9.5f | %9.5f | %9.2f | %13.2f |\n", r.scheme.c_str(), r.bytes,
                  4.0 * static_cast<double>(x.size()) / r.bytes, r.max_error, r.rmse, r.sqnr_db, r.quantize_gbs);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
