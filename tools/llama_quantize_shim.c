// llama-quantize-shim: run llama.cpp's own quantizer (libllama from the node-llama-cpp npm package) so that
// test and benchmark files in every quant type are written by an independent implementation.
//
//   llama-quantize-shim LIBLLAMA_PATH IN.gguf OUT.gguf TYPE [NTHREADS]
//
// No llama.cpp headers: the library is opened with dlopen and only the four entry points used here are
// declared. libllama finds its libggml*.so siblings through its RUNPATH ($ORIGIN), so a full path suffices.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// llama_model_quantize_params, as far as this tool touches it (include/llama.h, llama.cpp 2024-2026):
//   int32_t nthread;          // offset 0
//   enum llama_ftype ftype;   // offset 4 (an int-sized enum)
//   ... more enums, bools and pointers we leave at their defaults.
// The real struct is about 80 bytes; it is returned by value through a hidden pointer (> 16 bytes), so an
// oversized buffer here is safe whatever fields newer versions add.
typedef struct quantize_params_prefix {
  int32_t nthread;
  int32_t ftype;
  unsigned char rest[504];
} quantize_params_prefix;

typedef quantize_params_prefix (*default_params_fn)(void);
typedef uint32_t (*quantize_fn)(const char *fname_inp, const char *fname_out, const quantize_params_prefix *params);
typedef void (*backend_init_fn)(void);

// enum llama_ftype values (include/llama.h).
typedef struct ftype_name {
  const char *name;
  int32_t ftype;
} ftype_name;

static const ftype_name k_ftypes[] = {
    {"F32", 0},     {"F16", 1},     {"Q4_0", 2},    {"Q4_1", 3},    {"Q8_0", 7},    {"Q5_0", 8},   {"Q5_1", 9},
    {"Q4_K_S", 14}, {"Q4_K_M", 15}, {"Q5_K_S", 16}, {"Q5_K_M", 17}, {"Q6_K", 18},   {"BF16", 32},
};

static int lookup_ftype(const char *name, int32_t *ftype_out) {
  for (size_t i = 0; i < sizeof k_ftypes / sizeof k_ftypes[0]; ++i) {
    if (strcmp(k_ftypes[i].name, name) == 0) {
      *ftype_out = k_ftypes[i].ftype;
      return 1;
    }
  }
  return 0;
}

static void usage(const char *argv0) {
  fprintf(stderr, "usage: %s LIBLLAMA_PATH IN.gguf OUT.gguf TYPE [NTHREADS]\n  TYPE:", argv0);
  for (size_t i = 0; i < sizeof k_ftypes / sizeof k_ftypes[0]; ++i) fprintf(stderr, " %s", k_ftypes[i].name);
  fprintf(stderr, "\n");
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    usage(argv[0]);
    return 2;
  }
  const char *lib_path = argv[1], *in_path = argv[2], *out_path = argv[3], *type_name = argv[4];
  int32_t ftype = 0;
  if (!lookup_ftype(type_name, &ftype)) {
    fprintf(stderr, "llama-quantize-shim: unknown TYPE '%s'\n", type_name);
    usage(argv[0]);
    return 2;
  }
  int32_t nthread = 0;  // <= 0: llama.cpp uses hardware_concurrency
  if (argc == 6) nthread = (int32_t)atoi(argv[5]);

  void *lib = dlopen(lib_path, RTLD_NOW | RTLD_GLOBAL);
  if (!lib) {
    fprintf(stderr, "llama-quantize-shim: cannot load %s: %s\n", lib_path, dlerror());
    return 1;
  }
  default_params_fn default_params = (default_params_fn)dlsym(lib, "llama_model_quantize_default_params");
  quantize_fn quantize = (quantize_fn)dlsym(lib, "llama_model_quantize");
  backend_init_fn backend_init = (backend_init_fn)dlsym(lib, "llama_backend_init");
  if (!default_params || !quantize) {
    fprintf(stderr, "llama-quantize-shim: %s lacks llama_model_quantize / llama_model_quantize_default_params\n",
            lib_path);
    return 1;
  }
  if (backend_init) backend_init();

  quantize_params_prefix params;
  memset(&params, 0, sizeof params);
  params = default_params();
  params.nthread = nthread;
  params.ftype = ftype;

  uint32_t rc = quantize(in_path, out_path, &params);
  if (rc != 0) {
    fprintf(stderr, "llama-quantize-shim: llama_model_quantize(%s -> %s, %s) failed with code %u\n", in_path,
            out_path, type_name, rc);
    return 1;
  }
  fprintf(stderr, "llama-quantize-shim: wrote %s (%s)\n", out_path, type_name);
  return 0;
}
