/* llama2_efi.c - efi_main: CPU/FPU/AVX state, watchdog off, platform set-up
 * (worker cores included), then the application's event loop (app_main). */
#include <efi.h>
#include <efilib.h>

#include "app.h"
#include "platform_efi.h"

#ifndef HAVE_USE_MS_ABI
#error "build with -DGNU_EFI_USE_MS_ABI: firmware services are called directly"
#endif

/* CR0 / CR4 / XCR0 bits. */
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87 (1ull << 0)
#define XCR0_SSE (1ull << 1)
#define XCR0_AVX (1ull << 2)
#define XCR0_AVX512 (7ull << 5) /* opmask | ZMM_Hi256 | Hi16_ZMM */
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_AVX (1u << 28)

/* general-regs-only: this code runs before SSE is known to be usable, so
 * the compiler must not use XMM registers in it. */
#define NO_SIMD __attribute__((target("general-regs-only")))

static inline NO_SIMD void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid"
                     : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "a"(leaf), "c"(sub));
}

static inline NO_SIMD uint64_t xgetbv0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

NO_SIMD uint64_t EFIAPI efi_cpu_enable_simd(void)
{
    uint64_t cr0, cr4;
    uint32_t r[4];
    uint32_t mxcsr = 0x1f80; /* all exceptions masked, round to nearest */

    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    cr0 = (cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE;
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");

    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");

    __asm__ volatile("fninit" ::: "memory");
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));

    cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    cpuid(1, 0, r);
    if ((r[2] & (CPUID1_ECX_XSAVE | CPUID1_ECX_AVX)) != (CPUID1_ECX_XSAVE | CPUID1_ECX_AVX) ||
        max_leaf < 0xD)
        return 0;

    /* XSETBV faults unless CR4.OSXSAVE is set first. */
    if (!(cr4 & CR4_OSXSAVE)) {
        cr4 |= CR4_OSXSAVE;
        __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
    }

    /* Leaf 0Dh sub-leaf 0: EDX:EAX = the XCR0 bits this CPU supports. */
    cpuid(0xD, 0, r);
    uint64_t supported = ((uint64_t)r[3] << 32) | r[0];
    uint64_t want = XCR0_X87 | XCR0_SSE;
    if (supported & XCR0_AVX)
        want |= XCR0_AVX;
    /* The three AVX-512 components can only be enabled together. */
    if ((want & XCR0_AVX) && (supported & XCR0_AVX512) == XCR0_AVX512)
        want |= XCR0_AVX512;

    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & want) != want) {
        xcr0 |= want;
        /* XSETBV is serializing and slow: only when something changes. */
        __asm__ volatile("xsetbv"
                         : : "c"(0), "a"((uint32_t)xcr0), "d"((uint32_t)(xcr0 >> 32))
                         : "memory");
    }
    return xcr0;
}

/* crt0-efi-x86_64.o converts the firmware's MS-ABI call into a SysV call,
 * so efi_main itself is a plain C function (not EFIAPI). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    EFI_STATUS status;

    InitializeLib(image, systab);
    efi_cpu_enable_simd();
    /* The boot manager arms a 5-minute watchdog that would reset the
     * machine in the middle of a long chat. */
    systab->BootServices->SetWatchdogTimer(0, 0, 0, NULL);

    status = platform_efi_init(image, systab);
    if (EFI_ERROR(status)) {
        Print(L"llm: platform init failed: %r\n", status);
        return status;
    }
    int rc = app_main(NULL); /* no command line: llm.cfg only */
    platform_efi_fini();      /* the worker cores leave this image before it unloads */
    return rc == 0 ? EFI_SUCCESS : EFI_ABORTED;
}
