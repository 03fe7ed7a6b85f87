// Throughput of one multiply-add instruction of each kind this CPU has, 8 independent accumulators, registers only,
// and the memory read bandwidth. AVX-512: f32 FMA (vfmadd231ps zmm, 16 MACs), int8 VNNI (vpdpbusd, 64 MACs), BF16
// (vdpbf16ps, 32 MACs). AVX2: f32 FMA (ymm, 8 MACs) and vpmaddubsw (32 u8 x s8 products, the AVX2 int8 path's
// multiply). This is how the int8 path was chosen and the BF16 path dropped (docs/design.md). The read bandwidth
// (a 1 GiB buffer summed by N threads) is the floor for work that streams the weights once, like a short query
// (scripts/bench_query_latency.sh). Run `build/bench-dot-rates [threads=2]`.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#define REP8(op) op(0) op(1) op(2) op(3) op(4) op(5) op(6) op(7)
#define CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7"
#define FMA(k) "vfmadd231ps %%zmm30, %%zmm31, %%zmm" #k "\n\t"
#define VNNI(k) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #k "\n\t"
#define BF16(k) "vdpbf16ps %%zmm30, %%zmm31, %%zmm" #k "\n\t"
#define FMA_YMM(k) "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #k "\n\t"
#define MADDUBS_YMM(k) "vpmaddubsw %%ymm14, %%ymm15, %%ymm" #k "\n\t"

static void report(const char* name, int macs, double seconds, long n) {
  const double ns = seconds / ((double)n * 8.0) * 1e9;
  printf("%-16s %6.3f ns/instr  %6.1f MACs/ns per core\n", name, ns, (double)macs / ns);
}

struct slice {
  const uint64_t* p;
  size_t n;
  uint64_t sum;
};

static void* sum_slice(void* arg) {
  struct slice* s = (struct slice*)arg;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= s->n; i += 4) a += s->p[i], b += s->p[i + 1], c += s->p[i + 2], d += s->p[i + 3];
  s->sum = a + b + c + d;
  return NULL;
}

// Best of 5 passes over a 1 GiB buffer (far above any cache), split across n_threads.
static void read_bandwidth(int n_threads) {
  const size_t bytes = (size_t)1 << 30, words = bytes / 8;
  uint64_t* buf = (uint64_t*)malloc(bytes);
  if (buf == NULL) {
    printf("read bandwidth: cannot allocate 1 GiB\n");
    return;
  }
  memset(buf, 1, bytes);  // touch every page first
  pthread_t th[64];
  struct slice sl[64];
  double best = 1e30;
  uint64_t check = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t = now();
    for (int i = 0; i < n_threads; ++i) {
      sl[i].p = buf + words / (size_t)n_threads * (size_t)i;
      sl[i].n = words / (size_t)n_threads;
      pthread_create(&th[i], NULL, sum_slice, &sl[i]);
    }
    for (int i = 0; i < n_threads; ++i) pthread_join(th[i], NULL), check += sl[i].sum;
    const double s = now() - t;
    if (s < best) best = s;
  }
  printf("read bandwidth   %6.1f GB/s with %d threads (checksum %llu)\n", (double)bytes / best * 1e-9, n_threads,
         (unsigned long long)(check & 0xff));
  free(buf);
}

int main(int argc, char** argv) {
  const long n = 50000000;
  int n_threads = argc > 1 ? atoi(argv[1]) : 2;
  if (n_threads < 1 || n_threads > 64) n_threads = 2;
  double t;
  if (__builtin_cpu_supports("avx512f")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(FMA)::: CLOBBER);
    report("f32 fma zmm", 16, now() - t, n);
  }
  if (__builtin_cpu_supports("avx512vnni")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(VNNI)::: CLOBBER);
    report("vpdpbusd zmm", 64, now() - t, n);
  }
  if (__builtin_cpu_supports("avx512bf16")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(BF16)::: CLOBBER);
    report("vdpbf16ps zmm", 32, now() - t, n);
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(FMA_YMM)::: CLOBBER);
    report("f32 fma ymm", 8, now() - t, n);
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(MADDUBS_YMM)::: CLOBBER);
    report("vpmaddubsw ymm", 32, now() - t, n);
  }
  read_bandwidth(n_threads);
  return 0;
}
