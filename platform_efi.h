/* platform_efi.h - glue between efi_main (llama2_efi.c) and the UEFI
 * platform layer (platform_efi.c). Only UEFI files include it. */
#ifndef PLATFORM_EFI_H
#define PLATFORM_EFI_H

#include <efi.h>
#include <stdint.h>

/* Sets up the platform layer on the boot processor: remembers the firmware
 * tables, opens the volume the image was loaded from, calibrates the TSC and
 * starts the worker cores (MP Services; prints a line when there are none).
 * Call once after InitializeLib and before any plat_* function. A missing
 * file system is not fatal: the file functions then return ERR_IO. */
EFI_STATUS platform_efi_init(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

/* The TSC rate (Hz) platform_efi_init measured, for diagnostics. */
uint64_t platform_efi_tsc_hz(void);

/* Sends the worker cores started by platform_efi_init back to the firmware
 * (MP Services sees their procedures finish), so none runs this image's
 * code after efi_main returns. parallel_for is serial afterwards. Call on
 * the way out of efi_main; not needed before ResetSystem. */
void platform_efi_fini(void);

/* Enables x87/SSE and, when CPUID reports them, AVX and AVX-512 register
 * state on the calling core (CR0, CR4, XCR0, FPU, MXCSR). Makes no firmware
 * calls, so worker cores call it at the start of every dispatched procedure
 * (the firmware restores CR4 on AP wake-up). Returns the XCR0 now in effect,
 * 0 when the CPU has no XSAVE. Defined in llama2_efi.c. MS ABI, like the
 * AP procedure that calls it: then that caller, which may not touch XMM
 * registers before this returns, has none to save. */
uint64_t EFIAPI efi_cpu_enable_simd(void);

#endif
