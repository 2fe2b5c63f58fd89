// qsparse/core/config.hpp — compiler and platform macros shared by every header.
//
// The only macros qsparse defines are here, all QSPARSE_-prefixed:
//   QSPARSE_X86                 1 when compiling for x86-64 with GCC or Clang (SIMD paths exist)
//   QSPARSE_AARCH64             1 when compiling for aarch64 with GCC or Clang
//   QSPARSE_TARGET_AVX2         function attribute: compile this function for AVX2 + FMA + F16C
//   QSPARSE_TARGET_AVX_VNNI     function attribute: AVX2 + FMA + F16C + AVX-VNNI (VEX vpdpbusd; only for
//                               kernels that check cpu().avx_vnni)
//   QSPARSE_TARGET_AVX512       function attribute: AVX-512 F/BW/VL/DQ (+ F16C)
//   QSPARSE_TARGET_AVX512_VNNI  function attribute: AVX-512 F/BW/VL/DQ + VNNI
//   QSPARSE_TARGET_AVX512_VNNI_VBMI2  the same + VBMI2 + POPCNT (only for kernels that check cpu().avx512_vbmi2)
//   QSPARSE_TARGET_AMX_INT8     the AVX-512 VNNI set + AMX-TILE + AMX-INT8 (only for kernels of isa_level::amx_int8)
//   QSPARSE_TARGET_NEON_DOTPROD function attribute: Advanced SIMD + SDOT/UDOT (aarch64)
//   QSPARSE_TARGET_NEON_I8MM    function attribute: + SMMLA/UMMLA/USMMLA (aarch64)
//   QSPARSE_RESTRICT            restrict qualifier
//   QSPARSE_ALWAYS_INLINE       inline, and always inlined (the kernels' ISA-neutral drivers)
//   QSPARSE_KEEP_ROUNDED(v)     statement: the float value or SIMD vector v is taken as it is rounded now, so
//                               no FMA contraction can fuse the operation that made it with one that uses it
//                               (qsparse/core/unfused.hpp says when; the only asm barrier of that kind)
// A host compiled with default flags still gets every path: the SIMD functions carry target
// attributes and are only called after run-time CPU detection (qsparse/dispatch/isa.hpp).
#pragma once

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define QSPARSE_X86 1
#else
#define QSPARSE_X86 0
#endif

#if defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define QSPARSE_AARCH64 1
#else
#define QSPARSE_AARCH64 0
#endif

#if QSPARSE_X86
#define QSPARSE_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
#define QSPARSE_TARGET_AVX_VNNI __attribute__((target("avx2,fma,f16c,avxvnni")))
#define QSPARSE_TARGET_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq")))
#define QSPARSE_TARGET_AVX512_VNNI \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define QSPARSE_TARGET_AVX512_VNNI_VBMI2 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512vbmi2,popcnt")))
#define QSPARSE_TARGET_AMX_INT8 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,amx-tile,amx-int8")))
#else
#define QSPARSE_TARGET_AVX2
#define QSPARSE_TARGET_AVX_VNNI
#define QSPARSE_TARGET_AVX512
#define QSPARSE_TARGET_AVX512_VNNI
#define QSPARSE_TARGET_AVX512_VNNI_VBMI2
#define QSPARSE_TARGET_AMX_INT8
#endif

// aarch64: GCC 12 takes "arch=armv8.2-a+dotprod" (with "+dotprod" alone it emits `.arch armv8-a+dotprod`,
// on which binutils 2.40 rejects sdot; FEAT_DotProd exists from Armv8.2 on), Clang 14 "dotprod" (it
// rejects GCC's forms). Clang 14's arm_neon.h declares the dot-product and
// matrix-multiply intrinsics only under -march flags, never under a target attribute, so the kernels issue
// those instructions as inline asm; the attribute lets the assembler accept them.
#if QSPARSE_AARCH64 && defined(__clang__)
#define QSPARSE_TARGET_NEON_DOTPROD __attribute__((target("dotprod")))
#define QSPARSE_TARGET_NEON_I8MM __attribute__((target("dotprod,i8mm")))
#elif QSPARSE_AARCH64
#define QSPARSE_TARGET_NEON_DOTPROD __attribute__((target("arch=armv8.2-a+dotprod")))
#define QSPARSE_TARGET_NEON_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))
#else
#define QSPARSE_TARGET_NEON_DOTPROD
#define QSPARSE_TARGET_NEON_I8MM
#endif

#if defined(__GNUC__) || defined(__clang__)
#define QSPARSE_RESTRICT __restrict__
#define QSPARSE_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define QSPARSE_RESTRICT
#define QSPARSE_ALWAYS_INLINE inline
#endif

// QSPARSE_KEEP_ROUNDED(v): an empty asm statement that reads and writes v in a register of its kind (x86:
// any SSE/AVX register, "v"; aarch64: a SIMD&FP register, "w"; elsewhere through memory). The compiler must
// materialise v's rounded value and cannot know what comes out, so `a * b` whose result passes through it is
// never fused with a later addition (GCC contracts a*b+c into an FMA at -O2 by default, -ffp-contract=fast,
// wherever the target has one: aarch64 always, x86 inside functions compiled for FMA). It emits no
// instruction. v must be an lvalue; float, double, and the SIMD vector types (__m128/__m256/__m512,
// float32x4_t) all work. MSVC does not contract unless asked to (/fp:contract), so it needs nothing.
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || (defined(__i386__) && defined(__SSE__)))
#define QSPARSE_KEEP_ROUNDED(v) __asm__("" : "+v"(v))
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
#define QSPARSE_KEEP_ROUNDED(v) __asm__("" : "+w"(v))
#elif defined(__GNUC__) || defined(__clang__)
#define QSPARSE_KEEP_ROUNDED(v) __asm__("" : "+m"(v))
#else
#define QSPARSE_KEEP_ROUNDED(v) static_cast<void>(v)
#endif

// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsic headers (the _mm512_undefined_*
// self-initialisation) when they are inlined into a function with a target attribute. Kernel headers
// wrap their SIMD code in these two macros; they change nothing else.
#if defined(__GNUC__) && !defined(__clang__)
#define QSPARSE_SIMD_DIAGNOSTICS_BEGIN                                  \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"") \
      _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#define QSPARSE_SIMD_DIAGNOSTICS_END _Pragma("GCC diagnostic pop")
#else
#define QSPARSE_SIMD_DIAGNOSTICS_BEGIN
#define QSPARSE_SIMD_DIAGNOSTICS_END
#endif
