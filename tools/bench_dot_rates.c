// Throughput of one 512-bit multiply-add instruction of each kind, 8 independent accumulators, registers only:
// f32 FMA (vfmadd231ps, 16 MACs), int8 VNNI (vpdpbusd, 64 MACs), BF16 (vdpbf16ps, 32 MACs). This is how the
// int8 path was chosen and the BF16 path dropped (docs/design.md): run `build/bench-dot-rates`.
#include <stdio.h>
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

static void report(const char* name, int macs, double seconds, long n) {
  const double ns = seconds / ((double)n * 8.0) * 1e9;
  printf("%-10s %6.3f ns/instr  %6.1f MACs/ns per core\n", name, ns, (double)macs / ns);
}

int main(void) {
  const long n = 50000000;
  if (!__builtin_cpu_supports("avx512f")) {
    printf("no AVX-512 on this CPU\n");
    return 0;
  }
  double t = now();
  for (long i = 0; i < n; ++i) __asm__ volatile(REP8(FMA)::: CLOBBER);
  report("f32 fma", 16, now() - t, n);
  if (__builtin_cpu_supports("avx512vnni")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(VNNI)::: CLOBBER);
    report("vpdpbusd", 64, now() - t, n);
  }
  if (__builtin_cpu_supports("avx512bf16")) {
    t = now();
    for (long i = 0; i < n; ++i) __asm__ volatile(REP8(BF16)::: CLOBBER);
    report("vdpbf16ps", 32, now() - t, n);
  }
  return 0;
}
