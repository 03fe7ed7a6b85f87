#pragma once
// Reads the tokenizer vocabulary that llama.cpp's converter stores in GGUF metadata.
#include "formats/gguf_reader.hpp"
#include "tokenizer/vocab.hpp"

namespace qembed {

//! Reads tokenizer.ggml.tokens, tokenizer.ggml.token_type, tokenizer.ggml.merges ("a b" strings) and
//! tokenizer.ggml.eos_token_id. Throws Error naming the file and the key when one is missing or inconsistent.
VocabData vocab_from_gguf(const GgufFile& file);

}  // namespace qembed
