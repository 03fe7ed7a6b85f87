// qembed-make-model: writes a synthetic Qwen3-Embedding or Qwen3-Reranker model (seeded random weights, real layout,
// real tokenizer) as a GGUF file or a HuggingFace folder, for tests and demos without downloading weights.
#include <charconv>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "model_gen/options.hpp"
#include "model_gen/write_gguf.hpp"
#include "model_gen/write_hf.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed::model_gen {
namespace {

constexpr const char* kUsage =
    "usage: qembed-make-model --tokenizer PATH/tokenizer.json --shape tiny|small|0.6b|4b|8b|custom\n"
    "         [--layers N --hidden N --heads N --kv-heads N --head-dim N --ffn N --ctx N]\n"
    "         --format gguf|hf [--type F32|F16|BF16|Q8_0|Q4_0|Q4_1|Q5_0|Q5_1|Q4_K|Q5_K|Q6_K|Q4_K_M|Q5_K_M]\n"
    "         [--shards N] [--no-model-prefix] [--no-eos-flag] [--reranker [--untied-head]] [--threads N]\n"
    "         --seed S --out PATH\n"
    "--reranker: a Qwen3-Reranker (score = sigmoid(logit yes - logit no) at the last token). GGUF: rank pooling,\n"
    "  labels yes/no, the rerank template, cls.output.weight; HF: Qwen3ForCausalLM with the head tied to the\n"
    "  embeddings, or a separate lm_head.weight with --untied-head.\n"
    "The weights are random: the model runs like Qwen3-Embedding (or -Reranker) but its output carries no meaning.\n";

int64_t parse_int(const std::string& flag, const std::string& text, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < lo || v > hi) {
    throw Error(flag + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
                text + "'");
  }
  return v;
}

Options parse_args(int argc, char** argv) {
  Options o;
  std::string type_name = "F32";
  bool have_seed = false, reranker = false, untied_head = false;
  struct Override {
    const char* flag;
    int32_t ModelShape::*field;
    int64_t max;
  };
  const Override overrides[] = {
      {"--layers", &ModelShape::n_layer, 1024},    {"--hidden", &ModelShape::n_embd, 65536},
      {"--heads", &ModelShape::n_head, 1024},      {"--kv-heads", &ModelShape::n_head_kv, 1024},
      {"--head-dim", &ModelShape::head_dim, 4096}, {"--ffn", &ModelShape::n_ff, 262144},
      {"--ctx", &ModelShape::n_ctx, 1 << 24}};
  std::vector<std::pair<const Override*, int32_t>> shape_flags;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + ": missing value");
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (a == "--tokenizer") {
      o.tokenizer_path = value();
    } else if (a == "--shape") {
      o.shape_name = value();
    } else if (a == "--format") {
      o.format = value();
    } else if (a == "--type") {
      type_name = value();
    } else if (a == "--shards") {
      o.shards = static_cast<int>(parse_int(a, value(), 1, 99));
    } else if (a == "--threads") {
      o.n_threads = static_cast<int>(parse_int(a, value(), 1, 256));
    } else if (a == "--seed") {
      o.seed = static_cast<uint64_t>(parse_int(a, value(), 0, INT64_MAX));
      have_seed = true;
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--no-model-prefix") {
      o.model_prefix = false;
    } else if (a == "--no-eos-flag") {
      o.eos_flag = false;
    } else if (a == "--reranker") {
      reranker = true;
    } else if (a == "--untied-head") {
      untied_head = true;
    } else {
      const Override* ov = nullptr;
      for (const auto& c : overrides) ov = a == c.flag ? &c : ov;
      if (ov == nullptr) throw Error("unknown flag '" + a + "'\n" + kUsage);
      shape_flags.emplace_back(ov, static_cast<int32_t>(parse_int(a, value(), 1, ov->max)));
    }
  }
  if (o.tokenizer_path.empty() || o.out.empty() || !have_seed) {
    throw Error(std::string("--tokenizer, --seed and --out are required\n") + kUsage);
  }
  auto shape = shape_preset(o.shape_name);
  if (!shape) throw Error("--shape: expected tiny, small, 0.6b, 4b, 8b or custom, got '" + o.shape_name + "'");
  o.shape = *shape;
  if (!shape_flags.empty() && o.shape_name != "custom") throw Error("--layers/--hidden/...: only with --shape custom");
  for (const auto& [ov, v] : shape_flags) o.shape.*(ov->field) = v;
  if (o.shape.n_head % o.shape.n_head_kv != 0) throw Error("--heads must be a multiple of --kv-heads");
  if (o.shape.head_dim % 2 != 0) throw Error("--head-dim must be even (RoPE rotates pairs)");

  auto type = convert::parse_quant_target(type_name);
  if (!type) throw Error("--type: unknown type '" + type_name + "'");
  o.type = *type;
  if (o.format == "hf") {
    if (o.type.mix || ggml_type_info(o.type.base).block_values != 1) {
      throw Error("--type " + o.type.name + ": HF folders hold F32, F16 or BF16 only");
    }
  } else if (o.format == "gguf") {
    if (o.shards != 1) throw Error("--shards: only with --format hf");
    if (!o.model_prefix) throw Error("--no-model-prefix: only with --format hf");
  } else {
    throw Error("--format: expected gguf or hf, got '" + o.format + "'");
  }
  if (untied_head && !reranker) throw Error("--untied-head: only with --reranker");
  if (reranker) o.rerank = RerankHead{.untied = untied_head};
  if (o.n_threads == 0) o.n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return o;
}

// The reranker reads the logits of these tokens; they are single plain tokens in Qwen3's vocabulary, but another
// tokenizer.json may lack them, and a made-up id would give a model whose scores mean nothing even structurally.
int64_t token_id(const VocabData& vocab, const std::string& text) {
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    if (vocab.tokens[i] == text) return static_cast<int64_t>(i);
  }
  throw Error("--reranker: the tokenizer has no token \"" + text + "\" (the reranker scores \"yes\" against \"no\")");
}

int run(int argc, char** argv) {
  Options o = parse_args(argc, argv);
  const VocabData vocab = vocab_from_tokenizer_json(o.tokenizer_path);
  o.shape.n_vocab = static_cast<int32_t>(vocab.tokens.size());
  if (o.rerank) o.rerank->yes_id = token_id(vocab, "yes"), o.rerank->no_id = token_id(vocab, "no");
  auto hf_tensors = qwen3_tensors(o.shape, o.rerank);
  std::erase_if(hf_tensors, [](const TensorSpec& t) { return !t.in_hf; });
  const size_t n_tensors = hf_tensors.size();
  if (static_cast<size_t>(o.shards) > n_tensors) throw Error("--shards: at most " + std::to_string(n_tensors));
  const ModelShape& s = o.shape;
  std::cerr << "qembed-make-model: " << o.shape_name << " (" << s.n_layer << " layers, hidden " << s.n_embd << ", "
            << s.n_head << "/" << s.n_head_kv << " heads x " << s.head_dim << ", ffn " << s.n_ff << ", vocab "
            << s.n_vocab << ")"
            << (!o.rerank          ? ""
                : o.rerank->untied ? ", reranker (untied head)"
                                   : ", reranker")
            << ", " << o.type.name << ", seed " << o.seed << " -> " << o.out << "\n";
  if (o.format == "gguf") {
    write_gguf_model(o, vocab);
  } else {
    write_hf_model(o);
  }
  std::cerr << "wrote " << o.out << " (random weights: " << (o.rerank ? "scores" : "vectors") << " carry no meaning)\n";
  return 0;
}

}  // namespace
}  // namespace qembed::model_gen

int main(int argc, char** argv) {
  try {
    return qembed::model_gen::run(argc, argv);
  } catch (const qembed::Error& e) {
    std::cerr << "qembed-make-model: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "qembed-make-model: " << e.what() << "\n";
    return 1;
  }
}
