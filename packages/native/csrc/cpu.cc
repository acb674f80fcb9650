// cpuid / xgetbv: the vector ISA this CPU and its OS support. AVX-512 needs the F, BW, DQ and VL
// subsets (the micro-kernel uses only F, the others are what every AVX-512 CPU since Skylake-SP
// has) and XCR0's opmask/zmm bits; AVX2 needs FMA and XCR0's ymm bit.
#include "cpu.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define LETS_X86 1
#endif

namespace lets {

namespace {
#ifdef LETS_X86
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}
#endif

CpuInfo detect() {
  CpuInfo c;
#ifdef LETS_X86
  unsigned a, b, cx, d;
  if (!__get_cpuid(0, &a, &b, &cx, &d)) return c;
  const unsigned max_leaf = a;
  char vendor[13];
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &cx, 4);
  vendor[12] = 0;
  c.vendor = vendor;
  __get_cpuid(1, &a, &b, &cx, &d);
  const int base_family = (a >> 8) & 0xf, base_model = (a >> 4) & 0xf;
  c.family = base_family == 0xf ? base_family + int((a >> 20) & 0xff) : base_family;
  c.model_id = (base_family == 0x6 || base_family == 0xf) ? base_model | int(((a >> 16) & 0xf) << 4) : base_model;
  c.stepping = a & 0xf;
  c.sse2 = d & (1u << 26);
  c.sse3 = cx & 1u;
  c.sse41 = cx & (1u << 19);
  c.fma = cx & (1u << 12);
  c.avx = cx & (1u << 28);
  const bool osxsave = cx & (1u << 27);
  if (osxsave) {
    const uint64_t xcr0 = xgetbv0();
    c.os_avx = (xcr0 & 0x6) == 0x6;             // xmm, ymm
    c.os_avx512 = c.os_avx && (xcr0 & 0xe0) == 0xe0;  // opmask, zmm0-15 high, zmm16-31
  }
  if (max_leaf >= 7) {
    __get_cpuid_count(7, 0, &a, &b, &cx, &d);
    c.avx2 = b & (1u << 5);
    c.avx512f = b & (1u << 16);
    c.avx512dq = b & (1u << 17);
    c.avx512bw = b & (1u << 30);
    c.avx512vl = b & (1u << 31);
  }
  unsigned ext = __get_cpuid_max(0x80000000u, nullptr);
  if (ext >= 0x80000004u) {
    char brand[49] = {0};
    for (unsigned i = 0; i < 3; i++) {
      __get_cpuid(0x80000002u + i, &a, &b, &cx, &d);
      std::memcpy(brand + 16 * i, &a, 4);
      std::memcpy(brand + 16 * i + 4, &b, 4);
      std::memcpy(brand + 16 * i + 8, &cx, 4);
      std::memcpy(brand + 16 * i + 12, &d, 4);
    }
    std::string s(brand);
    const size_t first = s.find_first_not_of(' '), last = s.find_last_not_of(' ');
    c.model = first == std::string::npos ? "" : s.substr(first, last - first + 1);
  }
  if (c.avx512f && c.avx512bw && c.avx512dq && c.avx512vl && c.os_avx512) c.isa = Isa::Avx512;
  else if (c.avx2 && c.fma && c.os_avx) c.isa = Isa::Avx2Fma;
#endif
  if (c.model.empty()) c.model = "unknown CPU";
  return c;
}
}  // namespace

const CpuInfo& cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return "avx512";
    case Isa::Avx2Fma: return "avx2+fma";
    default: return "portable";
  }
}

}  // namespace lets
