// qsparse_demo — compress a real model end to end (issue 7): train on Fashion-MNIST, prune, calibrate,
// quantize, save every variant as safetensors, re-load it, run it with qsparse's kernels and report.
//
//   qsparse_demo [--model mlp|cnn] [--data DIR] [--out DIR] [--epochs N] [--smoke] [--jobs N] [--help]
//
// Files: examples/demo/{nn,train,data,compress,prune,model,runtime,store,report}.hpp. The table goes to
// stdout (and OUT/report.md), the chart to OUT/accuracy_vs_size.svg, each variant to OUT/<name>.safetensors.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "compress.hpp"
#include "data.hpp"
#include "features.hpp"
#include "model.hpp"
#include "nn.hpp"
#include "prune.hpp"
#include "report.hpp"
#include "runtime.hpp"
#include "store.hpp"
#include "train.hpp"
#include "qsparse/dispatch/isa.hpp"

namespace {

struct options {
  std::string model = "mlp";
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string out = "build/demo-out";
  int epochs = -1;  // -1: the default of the model
  bool smoke = false;
  int jobs = 0;     // 0: min(2, hardware threads)
};

const char* usage =
    "usage: qsparse_demo [--model mlp|cnn] [--data DIR] [--out DIR] [--epochs N] [--smoke] [--jobs N] [--help]\n"
    "\n"
    "Trains a float model on Fashion-MNIST (IDX files in DIR), compresses it every way qsparse can (float16,\n"
    "dynamic-range int8, full-integer int8 calibrated with min/max and entropy, quantization-aware training,\n"
    "pruning to 80/90/95 % unstructured and in 4x16 blocks, 2:4, pruned + int8), saves each variant as\n"
    "safetensors in DIR, re-loads it and reports accuracy, size and latency.\n"
    "\n"
    "  --model mlp|cnn   784-256-128-10 MLP (default) or the small CNN\n"
    "  --data DIR        IDX data set (default /usr/share/datasets/fashion-mnist)\n"
    "  --out DIR         output directory (default build/demo-out)\n"
    "  --epochs N        float training epochs (default 10 for the MLP, 3 for the CNN); pruning fine-tunes\n"
    "                    N more epochs, QAT max(1, N/5) epochs at lr/10\n"
    "  --smoke           a seconds-long run on 3,000 training and 1,000 test images (the test suite's)\n"
    "  --jobs N          fine-tuning runs in parallel (default: 2, or 1 on a single-core machine)\n";

int parse_int(const char* flag, const char* v, int lo, int hi) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < lo || x > hi)
    throw std::invalid_argument(std::string(flag) + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got \"" + v + "\"");
  return static_cast<int>(x);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (a == "--model") {
      o.model = value();
      if (o.model != "mlp" && o.model != "cnn") throw std::invalid_argument("--model must be mlp or cnn, got \"" + o.model + "\"");
    } else if (a == "--data") {
      o.data = value();
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--epochs") {
      o.epochs = parse_int("--epochs", value(), 1, 1000);
    } else if (a == "--jobs") {
      o.jobs = parse_int("--jobs", value(), 1, 64);
    } else if (a == "--smoke") {
      o.smoke = true;
    } else {
      throw std::invalid_argument("unknown argument \"" + a + "\"");
    }
  }
  return o;
}

const auto program_start = std::chrono::steady_clock::now();

/// A stage line on stderr, stamped with the seconds since the start.
void progress(const char* fmt, const std::string& s) {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - program_start).count();
  std::fprintf(stderr, "[%5.1f s] ", t);
  std::fprintf(stderr, fmt, s.c_str());
  std::fflush(stderr);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Median latency of predict on `batch` images: microseconds.
double latency_us(const qsparse::context& ctx, const demo::qmodel& m, const demo::matrix& x, int batch, int runs) {
  demo::workspace ws;
  std::vector<float> logits(static_cast<std::size_t>(batch) * static_cast<std::size_t>(m.classes()));
  batch = std::min<int>(batch, static_cast<int>(x.rows()));
  for (int i = 0; i < 3; ++i) demo::predict(ctx, m, x.data(), batch, logits.data(), ws);
  std::vector<double> t;
  for (int r = 0; r < runs; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    demo::predict(ctx, m, x.data(), batch, logits.data(), ws);
    t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  return median(t);
}

double zero_fraction(const demo::network& net) {
  double zeros = 0, total = 0;
  for (const demo::parameters& p : net.params()) {
    zeros += static_cast<double>((p.w.array() == 0.0f).count());
    total += static_cast<double>(p.w.size());
  }
  return zeros / total;
}

/// A fine-tuned network and what it was: filled by a job.
struct tuned {
  std::string label;
  demo::prune_pattern pattern = demo::prune_pattern::unstructured;
  double target = 0;  // final sparsity (0: not pruned)
  std::optional<demo::network> pruned, pruned_qat, qat;
  demo::activation_params qat_params, pruned_qat_params;
};

}  // namespace

int main(int argc, char** argv) {
  options opt;
  try {
    opt = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qsparse_demo: %s\n\n%s", e.what(), usage);
    return 2;
  }
  try {
    const auto start = std::chrono::steady_clock::now();
    const bool cnn = opt.model == "cnn";
    const int epochs = opt.epochs > 0 ? opt.epochs : opt.smoke ? 1 : cnn ? 3 : 10;
    const int prune_epochs = epochs;
    const int qat_epochs = std::max(1, epochs / 5);
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    const int jobs = opt.jobs > 0 ? opt.jobs : static_cast<int>(std::min(2u, hw));
    mkdir(opt.out.c_str(), 0755);  // an existing directory is fine; a failure shows when writing

    std::vector<std::string> notes;
    if (!DEMO_HAVE_PRUNING) notes.push_back("pruning variants left out: qsparse/sparsity/pruner.hpp is not in this checkout");
    if (!DEMO_HAVE_SPARSE_GEMM) notes.push_back("block 4x16 and 2:4 variants left out: qsparse/gemm/sparse_gemm.hpp is not in this checkout");
    if (cnn && !DEMO_HAVE_CONV) notes.push_back("CNN int8 variants left out: qsparse/conv (conv2d and pooling) is not in this checkout");

    progress("qsparse_demo: %s\n", "loading " + opt.data);
    const demo::data_splits data = demo::load_data(opt.data, opt.smoke ? 3000 : 60000, opt.smoke ? 1000 : 10000);
    const std::string arch = cnn ? "cnn" : "mlp";
    demo::network base(cnn ? demo::cnn_architecture() : demo::mlp_architecture(), 42);
    demo::train_options to;
    to.epochs = epochs;
    to.label = arch + " float";
    progress("qsparse_demo: %s\n", "training the float " + arch + " (" + std::to_string(epochs) + " epochs, " +
                                       std::to_string(data.train.x.rows()) + " images, Adam 1e-3, batch 128)");
    demo::train(base, data, to, nullptr);
    const long steps_per_epoch = (data.train.x.rows() + to.batch - 1) / to.batch;

    // ---- fine-tuning jobs (QAT, pruning, pruning + QAT), in parallel -------------------------------
    std::vector<tuned> runs;
    runs.push_back({"QAT", demo::prune_pattern::unstructured, 0, {}, {}, {}, {}, {}});
#if DEMO_HAVE_PRUNING
    std::vector<demo::prune_pattern> patterns{demo::prune_pattern::unstructured};
    if (DEMO_HAVE_SPARSE_GEMM) patterns.push_back(demo::prune_pattern::block_4x16);
    for (demo::prune_pattern p : patterns)
      for (double s : {0.80, 0.90, 0.95}) runs.push_back({"", p, s, {}, {}, {}, {}, {}});
    if (DEMO_HAVE_SPARSE_GEMM) runs.push_back({"", demo::prune_pattern::two_of_four, 0.5, {}, {}, {}, {}, {}});
#endif
    auto run_job = [&](tuned& t) {
      demo::train_options q = to;
      q.lr = to.lr / 10;
      q.epochs = qat_epochs;
      q.shuffle_seed = 3;
      if (t.target == 0) {
        t.qat.emplace(base);
        demo::qat_hooks h(*t.qat);
        q.label = arch + " QAT";
        demo::train(*t.qat, data, q, &h.hooks());
        t.qat_params = h.params();
        return;
      }
#if DEMO_HAVE_PRUNING
      const std::string name = std::string(demo::to_string(t.pattern)) +
                               (t.pattern == demo::prune_pattern::two_of_four ? "" : " " + demo::fmt("%.0f%%", t.target * 100));
      t.pruned.emplace(base);
      demo::train_options p = to;
      p.epochs = prune_epochs;
      p.shuffle_seed = 2;
      p.label = arch + " prune " + name;
      // TF-MOT's tutorial schedule: 50 % → target, power 3, every 100 steps, ending with the fine-tuning.
      const long end_step = std::max<long>(1, steps_per_epoch * prune_epochs);
      demo::pruning_hooks ph(*t.pruned, t.pattern, 0.5, t.target, end_step, std::min<long>(100, end_step));
      demo::train(*t.pruned, data, p, &ph.hooks());
      ph.finish();
      // QAT of the pruned network, masks frozen.
      t.pruned_qat.emplace(*t.pruned);
      demo::qat_hooks qh(*t.pruned_qat);
      demo::pruning_hooks frozen(*t.pruned_qat, ph.current_masks(), &qh.hooks());
      q.label = arch + " prune " + name + " + QAT";
      demo::train(*t.pruned_qat, data, q, &frozen.hooks());
      frozen.finish();
      t.pruned_qat_params = qh.params();
#endif
    };
    progress("qsparse_demo: %s\n", "fine-tuning " + std::to_string(runs.size()) + " networks (QAT " + std::to_string(qat_epochs) +
                                       " epochs at lr/10, pruning " + std::to_string(prune_epochs) + " epochs) on " +
                                       std::to_string(jobs) + " threads");
    {
      std::mutex mu;
      std::size_t next = 0;
      std::exception_ptr error;
      auto worker = [&] {
        for (;;) {
          std::size_t i;
          {
            std::lock_guard<std::mutex> lock(mu);
            if (next >= runs.size() || error) return;
            i = next++;
          }
          try {
            run_job(runs[i]);
          } catch (...) {
            std::lock_guard<std::mutex> lock(mu);
            error = std::current_exception();
          }
        }
      };
      std::vector<std::thread> pool;
      for (int j = 0; j < jobs; ++j) pool.emplace_back(worker);
      for (std::thread& th : pool) th.join();
      if (error) std::rethrow_exception(error);
    }

    // ---- variants: build, save, re-load, evaluate -------------------------------------------------------
    const qsparse::context ctx;  // one thread: latencies are single-core
    const int runs_1 = opt.smoke ? 20 : 300, runs_256 = opt.smoke ? 3 : 30;
    std::vector<demo::result> results;
    double float_acc = 0;
    std::size_t float_bytes = 0;
    auto add = [&](demo::qmodel m, const std::string& group, const std::string& kernel, double sparsity) {
      demo::prepare(m);  // sparse layers are packed here, and saved as packed
      std::string file = m.name;
      for (char& c : file)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      file = arch + "_" + file + ".safetensors";
      const std::string path = opt.out + "/" + file;
      demo::save_model(m, path);
      demo::qmodel loaded = demo::load_model(path);  // everything below runs from the file
      demo::prepare(loaded);
      demo::result r;
      r.name = m.name;
      r.group = group;
      r.kernel = kernel;
      r.file = file;
      r.bytes = static_cast<const qsparse::io::safetensors_file*>(loaded.file.get())->file_size();
      r.accuracy = demo::accuracy(ctx, loaded, data.test.x, data.test.y);
      r.latency_1 = latency_us(ctx, loaded, data.test.x, 1, runs_1);
      r.latency_256 = latency_us(ctx, loaded, data.test.x, 256, runs_256) / 1000.0;
      r.sparsity = sparsity;
      if (results.empty()) {
        float_acc = r.accuracy;
        float_bytes = r.bytes;
      }
      r.delta = r.accuracy - float_acc;
      r.ratio = static_cast<double>(float_bytes) / static_cast<double>(r.bytes);
      progress("qsparse_demo: %s\n", demo::fmt("%6.2f %%  ", r.accuracy) + r.name);
      results.push_back(r);
    };
    const bool int8_ok = !cnn || DEMO_HAVE_CONV;
    const std::string int8_kernel = cnn ? "conv2d + max_pool2d + gemm" : "gemm";
    const std::string float_kernel = cnn ? "Eigen (im2col)" : "Eigen";
    progress("qsparse_demo: %s\n", "saving, re-loading and evaluating every variant in " + opt.out);
    add(demo::make_weight_only(base, "float32", arch, demo::weight_format::f32), "float", float_kernel, 0);
    add(demo::make_weight_only(base, "float16 weights", arch, demo::weight_format::f16), "post-training", "gemm_f16", 0);
    add(demo::make_weight_only(base, "int8 dynamic range", arch, demo::weight_format::dynamic_int8), "post-training", "hybrid_gemm", 0);
    if (int8_ok) {
      for (demo::calibration_method c : {demo::calibration_method::minmax, demo::calibration_method::entropy}) {
        for (int n : {100, 500}) {
          const demo::activation_params act = demo::calibrate(base, data.train.x, n, c);
          add(demo::make_int8(base, std::string("int8 static, ") + demo::to_string(c) + ", " + std::to_string(n) + " samples", arch, act),
              "post-training", int8_kernel, 0);
        }
      }
      add(demo::make_int8(*runs[0].qat, "int8 QAT", arch, runs[0].qat_params), "QAT", int8_kernel, 0);
    }
#if DEMO_HAVE_PRUNING
    for (tuned& t : runs) {
      if (t.target == 0) continue;
      const std::string name = t.pattern == demo::prune_pattern::two_of_four
                                   ? std::string("2:4")
                                   : demo::fmt("%.0f%% ", t.target * 100) + demo::to_string(t.pattern);
      const double zf = zero_fraction(*t.pruned);
      add(demo::make_weight_only(*t.pruned, "pruned " + name + ", float32", arch, demo::weight_format::f32), "pruned float",
          float_kernel, zf);
      if (!int8_ok) continue;
      // Storage per weighted layer: dense layers in the pattern's kernel format; conv layers (no sparse
      // conv kernel) as a bitmask, run by the dense conv2d.
      std::vector<demo::storage_kind> storage;
      std::string kernel;
      for (const demo::layer_spec& s : t.pruned->layers()) {
        if (!s.has_weights()) continue;
        demo::storage_kind k = demo::storage_kind::bitmask;
        if (s.kind == demo::layer_kind::dense && t.pattern == demo::prune_pattern::block_4x16) k = demo::storage_kind::block_4x16;
        if (s.kind == demo::layer_kind::dense && t.pattern == demo::prune_pattern::two_of_four) k = demo::storage_kind::two_of_four;
        storage.push_back(k);
      }
      kernel = t.pattern == demo::prune_pattern::unstructured ? int8_kernel + " (bitmask → dense)"
                                                             : (cnn ? "conv2d + max_pool2d + sparse_gemm" : "sparse_gemm");
      const demo::activation_params act = demo::calibrate(*t.pruned, data.train.x, 500, demo::calibration_method::minmax);
      add(demo::make_int8(*t.pruned, "pruned " + name + " + int8 PTQ", arch, act, storage), "pruned + int8 PTQ", kernel, zf);
      add(demo::make_int8(*t.pruned_qat, "pruned " + name + " + int8 QAT", arch, t.pruned_qat_params, storage),
          "pruned + int8 QAT", kernel, zero_fraction(*t.pruned_qat));
    }
#endif

    // ---- report -----------------------------------------------------------------------------------------
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string title = "qsparse demo: " + arch + " on Fashion-MNIST (" + std::to_string(data.test.x.rows()) + " test images)";
    std::string header = title + "\n" + "float training " + std::to_string(epochs) + " epochs; pruning fine-tunes " +
                         std::to_string(prune_epochs) + " epochs (polynomial decay 50% -> target, power 3, every 100 steps); QAT " +
                         std::to_string(qat_epochs) + " epochs at lr 1e-4\n" +
                         "accuracy from the re-loaded safetensors file; latency = median, one thread, float images in, logits out; ISA " +
                         qsparse::to_string(qsparse::best_isa()) + "\n";
    std::printf("\n%s\n%s", header.c_str(), demo::text_table(results).c_str());
    for (const std::string& n : notes) std::printf("note: %s\n", n.c_str());
    std::printf("total time %.0f s; files, report.md and accuracy_vs_size.svg in %s\n", seconds, opt.out.c_str());
    std::string md = "# " + title + "\n\n" + header.substr(title.size() + 1) + "\n" + demo::markdown_table(results);
    for (const std::string& n : notes) md += "\nNote: " + n + "\n";
    md += "\n![accuracy vs size](accuracy_vs_size.svg)\n";
    demo::write_file(opt.out + "/report.md", md);
    demo::write_file(opt.out + "/accuracy_vs_size.svg", demo::svg_chart(results, title));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qsparse_demo: error: %s\n", e.what());
    return 1;
  }
}
