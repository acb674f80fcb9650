// The CPU's instruction set, read with cpuid/xgetbv by the addon itself (no library's guess).
#pragma once
#include <string>

namespace lets {

// Vector ISA levels the GEMM has micro-kernels for, lowest first.
enum class Isa { Portable = 0, Avx2Fma = 1, Avx512 = 2 };

struct CpuInfo {
  std::string vendor;  // "GenuineIntel", "AuthenticAMD", ...
  std::string model;   // brand string, e.g. "Intel(R) Xeon(R) Processor"
  int family = 0, model_id = 0, stepping = 0;
  bool sse2 = false, sse3 = false, sse41 = false, avx = false, avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool os_avx = false, os_avx512 = false;  // XCR0 enables the ymm / zmm state
  Isa isa = Isa::Portable;                  // the best level this CPU and OS can run
};

// Read once (thread-safe static).
const CpuInfo& cpu_info();
const char* isa_name(Isa isa);

}  // namespace lets
