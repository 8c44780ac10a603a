/* simd.c - which kernel table runs: CPU feature detection (CPUID, and XGETBV
 * for the register state the OS or efi_cpu_enable_simd turned on), the
 * generic table, and merging an ISA table over it. */
#include "simd.h"
#include "errors.h"
#include "kernels.h"
#include "lib.h"

const struct simd_kernels simd_generic = {
    .name = "generic",
    .dot = {[QT_F32] = gen_dot_f32, [QT_F16] = gen_dot_f16, [QT_BF16] = gen_dot_bf16,
            [QT_Q4_0] = gen_dot_q4_0, [QT_Q4_1] = gen_dot_q4_1, [QT_Q8_0] = gen_dot_q8_0,
            [QT_Q4_K] = gen_dot_q4_K, [QT_Q6_K] = gen_dot_q6_K},
    .act = {[QT_F16] = gen_act_f16, [QT_BF16] = gen_act_bf16, [QT_Q8_0] = gen_act_q8_0,
            [QT_Q8_1] = gen_act_q8_1, [QT_Q8_K] = gen_act_q8_K},
    .dot_f32 = gen_dot_f32_seq,
    .dot_q8g = gen_dot_q8g,
    .axpy = gen_axpy,
    .attn_scores = gen_attn_scores,
    .attn_values = gen_attn_values,
    .rmsnorm = k_rmsnorm,
    .softmax = gen_softmax,
    .swiglu = gen_swiglu,
    .swiglu_ggml = gen_swiglu_ggml,
    .stream = gen_stream,
};

static struct simd_kernels g_active;
const struct simd_kernels *g_simd = &simd_generic;

/* ---- CPU features --------------------------------------------------------- */

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

enum { CPU_AVX2 = 1, CPU_AVX512 = 2, CPU_VNNI = 4, CPU_AVX_VNNI = 8 };

/* Features usable now: the CPU has them and XCR0 says their registers are
 * saved (enabled), which the firmware path does in efi_cpu_enable_simd. */
static int cpu_features(void)
{
    uint32_t r[4];
    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    cpuid(1, 0, r);
    const uint32_t ecx1 = r[2];
    const int osxsave = (ecx1 >> 27) & 1, fma = (ecx1 >> 12) & 1, f16c = (ecx1 >> 29) & 1,
              avx = (ecx1 >> 28) & 1;
    if (!osxsave || !avx || max_leaf < 7)
        return 0;
    uint64_t xcr0 = xgetbv0();
    cpuid(7, 0, r);
    const uint32_t max_sub7 = r[0], ebx7 = r[1], ecx7 = r[2];
    int f = 0;
    if ((xcr0 & 6) == 6 && ((ebx7 >> 5) & 1) && fma && f16c)
        f |= CPU_AVX2;
    if ((f & CPU_AVX2) && max_sub7 >= 1) { /* AVX-VNNI: leaf 7 subleaf 1, EAX bit 4 */
        cpuid(7, 1, r);
        if ((r[0] >> 4) & 1)
            f |= CPU_AVX_VNNI;
    }
    /* AVX-512F, DQ, BW, VL and the opmask/ZMM state */
    const uint32_t need = (1u << 16) | (1u << 17) | (1u << 30) | (1u << 31);
    if ((f & CPU_AVX2) && (xcr0 & 0xe6) == 0xe6 && (ebx7 & need) == need) {
        f |= CPU_AVX512;
        if ((ecx7 >> 11) & 1)
            f |= CPU_VNNI;
    }
    return f;
}

/* ---- tables --------------------------------------------------------------- */

/* Weak: a program linked without an ISA file (the fuzzers) runs without it. */
extern const struct simd_kernels simd_avx2 __attribute__((weak));
extern const struct simd_kernels simd_avx2vnni __attribute__((weak));
extern const struct simd_kernels simd_avx512 __attribute__((weak));
extern const struct simd_kernels simd_avx512vnni __attribute__((weak));

int simd_tables(const struct simd_choice **ret)
{
    static struct simd_choice list[5];
    int n = 0, f = cpu_features();
    list[n++] = (struct simd_choice){&simd_generic, 1};
    /* worst to best: auto picks the last usable one */
    if (&simd_avx2)
        list[n++] = (struct simd_choice){&simd_avx2, (f & CPU_AVX2) != 0};
    if (&simd_avx2vnni)
        list[n++] = (struct simd_choice){&simd_avx2vnni, (f & CPU_AVX_VNNI) != 0};
    if (&simd_avx512)
        list[n++] = (struct simd_choice){&simd_avx512, (f & CPU_AVX512) != 0};
    if (&simd_avx512vnni)
        list[n++] = (struct simd_choice){&simd_avx512vnni, (f & CPU_VNNI) != 0};
    *ret = list;
    return n;
}

const char *simd_names(char *buf, size_t cap)
{
    const struct simd_choice *list;
    int n = simd_tables(&list);
    size_t len = (size_t)fmt_snprintf(buf, cap, "auto");
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)fmt_snprintf(buf + len, cap - len, ", %s", list[i].k->name);
    return buf;
}

/* Lays k's entries (after its base's) over out. */
static void merge_over(struct simd_kernels *out, const struct simd_kernels *k)
{
    if (k->base)
        merge_over(out, k->base);
    for (int i = 0; i < QT_ID_LIMIT; i++) {
        if (k->dot[i]) { /* a rows kernel must match its own table's dot: never mix */
            out->dot[i] = k->dot[i];
            out->dot_rows[i] = k->dot_rows[i];
            out->dot_block[i] = k->dot_block[i];
            out->dot_multi[i] = k->dot_multi[i];
        }
        if (k->act[i])
            out->act[i] = k->act[i];
        if (k->expand[i])
            out->expand[i] = k->expand[i];
    }
#define TAKE(f) if (k->f) out->f = k->f
    TAKE(dot_f32);
    TAKE(dot_q8g);
    TAKE(axpy);
    TAKE(attn_scores);
    TAKE(attn_values);
    TAKE(rmsnorm);
    TAKE(softmax);
    TAKE(swiglu);
    TAKE(swiglu_ggml);
    TAKE(stream);
#undef TAKE
}

void simd_merge(struct simd_kernels *out, const struct simd_kernels *k)
{
    *out = simd_generic;
    merge_over(out, k);
    out->name = k->name;
    out->base = NULL;
}

int simd_select(const char *name)
{
    const struct simd_choice *list;
    int n = simd_tables(&list), pick = -1;
    int any = !name || !*name || !strcmp(name, "auto");
    for (int i = 0; i < n; i++) {
        if (any ? list[i].usable : !strcmp(list[i].k->name, name))
            pick = i; /* auto: the last usable is the best */
    }
    if (pick < 0)
        return ERR_NOT_FOUND;
    if (!list[pick].usable)
        return ERR_UNSUPPORTED;
    simd_merge(&g_active, list[pick].k);
    g_simd = &g_active;
    return 0;
}
