/* platform_efi.c - platform.h on UEFI (gnu-efi): page allocation, the boot
 * volume's file system, the text console, a TSC clock and parallel_for on
 * every core (MP Services). EFI_STATUS values never leave this file: efi_to_err maps
 * them to ERR_* codes. */
#include <efi.h>
#include <efilib.h>

#include "errors.h"
#include "lib.h"
#include "pfjob.h"
#include "platform.h"
#include "platform_efi.h"
#include "net_snp.h"

#ifndef HAVE_USE_MS_ABI
#error "build with -DGNU_EFI_USE_MS_ABI: firmware services are called directly"
#endif

#define PAGE_SIZE 4096u
/* Some firmware FAT drivers fail on very large Read() calls; writes are
 * split the same way. */
#define READ_CHUNK (4u << 20)
#define WRITE_CHUNK READ_CHUNK
/* Longest path accepted, in UCS-2 code units (NUL included). */
#define PATH_MAX16 1024
/* A FAT long name is at most 255 UCS-2 units, 3 UTF-8 bytes each. */
#define NAME_MAX8 1024

static EFI_HANDLE g_image;
static EFI_SYSTEM_TABLE *g_st;
static EFI_BOOT_SERVICES *g_bs;
static EFI_RUNTIME_SERVICES *g_rt;
static EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *g_fs; /* the volume we booted from */
static EFI_FILE_HANDLE g_root;                /* kept open; files open relative to it */
static uint64_t g_tsc0, g_tsc_hz;

static int efi_to_err(EFI_STATUS st)
{
    if (!EFI_ERROR(st))
        return 0; /* success and warnings */
    switch (st) {
    case EFI_NOT_FOUND: return ERR_NOT_FOUND;
    case EFI_OUT_OF_RESOURCES: return ERR_NOMEM;
    case EFI_INVALID_PARAMETER: return ERR_INVAL;
    case EFI_UNSUPPORTED: return ERR_UNSUPPORTED;
    case EFI_WRITE_PROTECTED: return ERR_WRITE_PROTECTED;
    case EFI_VOLUME_FULL: return ERR_VOLUME_FULL;
    /* FAT: a read-only file opened for writing, or a rename onto a name in use */
    case EFI_ACCESS_DENIED: return ERR_ACCESS;
    case EFI_BUFFER_TOO_SMALL:
    case EFI_BAD_BUFFER_SIZE: return ERR_RANGE;
    default: return ERR_IO; /* device error, no media, corrupted volume, ... */
    }
}

/* ---- UTF-8 / UCS-2 ------------------------------------------------------- */

/* Incremental UTF-8 decoder: keeps its state between calls so a character
 * split over two plat_write calls (byte-fallback tokens) still decodes. */
struct u8dec {
    uint32_t cp, min;
    int need; /* continuation bytes still expected */
};
#define U8_BAD (-1)

/* Feeds one byte; stores 0..2 results (code points or U8_BAD) in out and
 * returns their number. Two results when a sequence is cut short: U8_BAD for
 * the broken sequence, then whatever byte b starts. */
static int u8_feed(struct u8dec *d, unsigned char b, int32_t out[2])
{
    int n = 0;

    if (d->need) {
        if ((b & 0xC0) == 0x80) {
            d->cp = (d->cp << 6) | (b & 0x3F);
            if (--d->need)
                return 0;
            /* overlong forms, surrogates and values past U+10FFFF */
            if (d->cp < d->min || d->cp > 0x10FFFF || (d->cp >= 0xD800 && d->cp <= 0xDFFF))
                out[0] = U8_BAD;
            else
                out[0] = (int32_t)d->cp;
            return 1;
        }
        d->need = 0;
        out[n++] = U8_BAD;
    }
    if (b < 0x80) {
        out[n++] = b;
    } else if (b >= 0xC2 && b <= 0xDF) {
        d->cp = b & 0x1F, d->need = 1, d->min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        d->cp = b & 0x0F, d->need = 2, d->min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        d->cp = b & 0x07, d->need = 3, d->min = 0x10000;
    } else {
        out[n++] = U8_BAD;
    }
    return n;
}

/* Converts a '/'-separated UTF-8 path into a '\'-separated UCS-2 one,
 * dropping empty components (leading, trailing and doubled slashes), so ""
 * and "/" both give "" (the root). */
static int path_to_ucs2(const char *path, CHAR16 *out, size_t cap)
{
    struct u8dec d = {0, 0, 0};
    size_t k = 0;

    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        int32_t cps[2];
        int m = u8_feed(&d, *p, cps);
        for (int j = 0; j < m; j++) {
            int32_t c = cps[j];
            if (c == U8_BAD || c > 0xFFFF)
                return ERR_INVAL; /* FAT names are UCS-2 */
            if (c == '/' || c == '\\') {
                if (k == 0 || out[k - 1] == L'\\')
                    continue;
                c = '\\';
            }
            if (k + 1 >= cap)
                return ERR_RANGE;
            out[k++] = (CHAR16)c;
        }
    }
    if (d.need)
        return ERR_INVAL;
    if (k > 0 && out[k - 1] == L'\\')
        k--;
    out[k] = 0;
    return 0;
}

/* UCS-2/UTF-16 name (at most wmax units, NUL-terminated or not) -> UTF-8,
 * truncated to fit cap bytes including the NUL. */
static void ucs2_to_utf8(const CHAR16 *w, size_t wmax, char *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < wmax && w[i]; i++) {
        uint32_t c = w[i];
        unsigned char enc[4];
        size_t len;

        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < wmax && w[i + 1] >= 0xDC00 &&
            w[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (w[i + 1] - 0xDC00u);
            i++;
        } else if (c >= 0xD800 && c <= 0xDFFF) {
            c = 0xFFFD; /* unpaired surrogate */
        }
        if (c < 0x80) {
            enc[0] = (unsigned char)c, len = 1;
        } else if (c < 0x800) {
            enc[0] = (unsigned char)(0xC0 | (c >> 6));
            enc[1] = (unsigned char)(0x80 | (c & 0x3F)), len = 2;
        } else if (c < 0x10000) {
            enc[0] = (unsigned char)(0xE0 | (c >> 12));
            enc[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            enc[2] = (unsigned char)(0x80 | (c & 0x3F)), len = 3;
        } else {
            enc[0] = (unsigned char)(0xF0 | (c >> 18));
            enc[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            enc[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            enc[3] = (unsigned char)(0x80 | (c & 0x3F)), len = 4;
        }
        if (k + len >= cap)
            break;
        for (size_t j = 0; j < len; j++)
            out[k++] = (char)enc[j];
    }
    out[k] = 0;
}

/* ---- memory --------------------------------------------------------------- */

static UINTN pages_for(size_t bytes)
{
    /* written without bytes + PAGE_SIZE - 1, which could overflow */
    UINTN pages = bytes / PAGE_SIZE + (bytes % PAGE_SIZE != 0);
    return pages ? pages : 1;
}

void *plat_alloc(size_t bytes)
{
    EFI_PHYSICAL_ADDRESS addr = 0;
    UINTN pages = pages_for(bytes);

    if (!g_bs || EFI_ERROR(g_bs->AllocatePages(AllocateAnyPages, EfiLoaderData, pages, &addr)))
        return NULL;
    /* libefi's memset is a byte loop; rep stosq is much faster, which
     * matters for multi-GiB weight buffers under QEMU TCG. */
    void *p = (void *)(UINTN)addr;
    void *dst = p;
    UINTN qwords = pages * (PAGE_SIZE / 8);
    __asm__ volatile("rep stosq" : "+D"(dst), "+c"(qwords) : "a"(0ull) : "memory");
    return p;
}

void plat_free(void *p, size_t bytes)
{
    if (p && g_bs)
        g_bs->FreePages((EFI_PHYSICAL_ADDRESS)(UINTN)p, pages_for(bytes));
}

uint64_t plat_mem_free(void)
{
    UINTN size = 0, key, desc_size;
    UINT32 version;
    EFI_MEMORY_DESCRIPTOR *map = NULL;
    EFI_STATUS st = g_bs->GetMemoryMap(&size, map, &key, &desc_size, &version);
    if (st != EFI_BUFFER_TOO_SMALL)
        return 0;
    size += 8 * desc_size; /* the pool allocation below may add entries */
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, size, (void **)&map)))
        return 0;
    uint64_t free_bytes = 0;
    if (!EFI_ERROR(g_bs->GetMemoryMap(&size, map, &key, &desc_size, &version))) {
        for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
            EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)((char *)map + off);
            if (d->Type == EfiConventionalMemory)
                free_bytes += d->NumberOfPages * PAGE_SIZE;
        }
    }
    g_bs->FreePool(map);
    return free_bytes;
}

/* ---- files ---------------------------------------------------------------- */

struct plat_file {
    EFI_FILE_HANDLE h;
};

/* Locates the file system of the device the image was loaded from and opens
 * a new handle on its root directory (owned by the caller: Close it). */
static EFI_STATUS open_volume(EFI_FILE_HANDLE *ret_root)
{
    EFI_STATUS st;

    if (!g_fs) {
        EFI_LOADED_IMAGE *li = NULL;
        st = g_bs->HandleProtocol(g_image, &gEfiLoadedImageProtocolGuid, (void **)&li);
        if (EFI_ERROR(st))
            return st;
        st = g_bs->HandleProtocol(li->DeviceHandle, &gEfiSimpleFileSystemProtocolGuid,
                                  (void **)&g_fs);
        if (EFI_ERROR(st)) {
            g_fs = NULL;
            return st;
        }
    }
    return g_fs->OpenVolume(g_fs, ret_root);
}

/* Opens g_root on first use; ERR_IO when booted from something without a
 * file system. */
static int need_root(void)
{
    if (!g_bs)
        return ERR_IO;
    if (!g_root && EFI_ERROR(open_volume(&g_root))) {
        g_root = NULL;
        return ERR_IO;
    }
    return 0;
}

/* Opens the converted path wpath with an EFI_FILE_MODE_* mode (and, when
 * creating, attributes); "" opens a fresh root handle so directory reads
 * never share a position. Caller closes *ret_h. */
static int open_wpath(const CHAR16 *wpath, UINT64 mode, UINT64 attr, EFI_FILE_HANDLE *ret_h)
{
    EFI_FILE_HANDLE h;
    EFI_STATUS st;
    int rc;

    if ((rc = need_root()) != 0)
        return rc;
    if (wpath[0] == 0)
        st = open_volume(&h);
    else
        st = g_root->Open(g_root, &h, (CHAR16 *)wpath, mode, attr);
    if (EFI_ERROR(st))
        return efi_to_err(st);
    *ret_h = h;
    return 0;
}

/* Opens path (see path_to_ucs2) read-only. Caller closes *ret_h. */
static int open_path(const char *path, EFI_FILE_HANDLE *ret_h)
{
    CHAR16 wpath[PATH_MAX16];
    int rc;

    if ((rc = path_to_ucs2(path, wpath, PATH_MAX16)) != 0)
        return rc;
    return open_wpath(wpath, EFI_FILE_MODE_READ, 0, ret_h);
}

/* Reads h's EFI_FILE_INFO into pool memory (*ret_info, caller FreePools),
 * growing the buffer when the name does not fit. */
/* GetInfo of type guid into a pool buffer (FreePool it), grown as asked. */
static EFI_STATUS get_info(EFI_FILE_HANDLE h, EFI_GUID *guid, UINTN cap, void **ret_info)
{
    for (int tries = 0; tries < 4; tries++) {
        void *info;
        UINTN size = cap;
        EFI_STATUS st = g_bs->AllocatePool(EfiLoaderData, cap, &info);
        if (EFI_ERROR(st))
            return st;
        st = h->GetInfo(h, guid, &size, info);
        if (!EFI_ERROR(st)) {
            *ret_info = info;
            return EFI_SUCCESS;
        }
        g_bs->FreePool(info);
        if (st != EFI_BUFFER_TOO_SMALL)
            return st;
        cap = size > cap ? size : cap * 2; /* size now holds what is needed */
    }
    return EFI_BUFFER_TOO_SMALL;
}

static EFI_STATUS get_file_info(EFI_FILE_HANDLE h, EFI_FILE_INFO **ret_info)
{
    return get_info(h, &gEfiFileInfoGuid, SIZE_OF_EFI_FILE_INFO + 256 * sizeof(CHAR16),
                    (void **)ret_info);
}

int plat_volume_free(uint64_t *ret_bytes)
{
    EFI_FILE_SYSTEM_INFO *info;
    int rc = need_root();
    if (rc)
        return rc;
    EFI_STATUS st = get_info(g_root, &gEfiFileSystemInfoGuid,
                             SIZE_OF_EFI_FILE_SYSTEM_INFO + 64 * sizeof(CHAR16), (void **)&info);
    if (EFI_ERROR(st))
        return efi_to_err(st);
    *ret_bytes = info->FreeSpace;
    g_bs->FreePool(info);
    return 0;
}

/* The plat_file of an open handle; closes the handle when out of memory. */
static int wrap_handle(EFI_FILE_HANDLE h, plat_file **ret_file)
{
    plat_file *f;
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, sizeof *f, (void **)&f))) {
        h->Close(h);
        return ERR_NOMEM;
    }
    f->h = h;
    *ret_file = f;
    return 0;
}

int plat_file_open(const char *path, plat_file **ret_file)
{
    EFI_FILE_HANDLE h;
    EFI_FILE_INFO *info;
    EFI_STATUS st;
    int rc;

    if ((rc = open_path(path, &h)) != 0)
        return rc;
    /* Open succeeds on directories too; the contract is files only. */
    st = get_file_info(h, &info); /* EFI_ERROR does not parenthesize its argument */
    if (EFI_ERROR(st)) {
        rc = efi_to_err(st);
        goto err_close;
    }
    int is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    g_bs->FreePool(info);
    if (is_dir) {
        rc = ERR_INVAL;
        goto err_close;
    }
    return wrap_handle(h, ret_file);

err_close:
    h->Close(h);
    return rc;
}

int plat_file_size(plat_file *f, uint64_t *ret_size)
{
    EFI_FILE_INFO *info;
    EFI_STATUS st = get_file_info(f->h, &info);

    if (EFI_ERROR(st))
        return efi_to_err(st);
    *ret_size = info->FileSize;
    g_bs->FreePool(info);
    return 0;
}

/* UEFI's Read() fails with EFI_DEVICE_ERROR when the position was set past
 * the end of the file; tells that case from a real device error. */
static int past_eof(EFI_FILE_HANDLE h)
{
    UINT64 pos;
    EFI_FILE_INFO *info;
    int past;

    if (EFI_ERROR(h->GetPosition(h, &pos)) || EFI_ERROR(get_file_info(h, &info)))
        return 0;
    past = pos > info->FileSize;
    g_bs->FreePool(info);
    return past;
}

int plat_file_read(plat_file *f, void *buf, size_t n, size_t *ret_got)
{
    size_t got = 0;

    while (got < n) {
        UINTN want = n - got < READ_CHUNK ? n - got : READ_CHUNK;
        UINTN size = want;
        EFI_STATUS st = f->h->Read(f->h, &size, (char *)buf + got);
        if (EFI_ERROR(st)) {
            if (st == EFI_DEVICE_ERROR && past_eof(f->h))
                break; /* end of file, the way callers (and POSIX) expect */
            return efi_to_err(st);
        }
        if (size == 0)
            break; /* end of file */
        got += size;
    }
    *ret_got = got;
    return 0;
}

int plat_file_seek(plat_file *f, uint64_t offset)
{
    /* 0xFFFF...FF means "end of file" to SetPosition; nobody means that. */
    if (offset == UINT64_MAX)
        return ERR_RANGE;
    return efi_to_err(f->h->SetPosition(f->h, offset));
}

void plat_file_close(plat_file *f)
{
    if (f) {
        f->h->Close(f->h);
        g_bs->FreePool(f);
    }
}

/* ---- writing files -----------------------------------------------------------
 * EDK2's FAT driver (OVMF, most PCs) writes its cache to the disk at the end
 * of every Flush, SetInfo and Delete, so each returns only once the change
 * is on the medium: storage.c relies on that order. */

/* The UCS-2 path of a file to write or delete (PATH_MAX16 CHAR16s); the
 * root directory is not a file (ERR_INVAL). */
static int file_wpath(const char *path, CHAR16 *wpath)
{
    int rc = path_to_ucs2(path, wpath, PATH_MAX16);
    return rc ? rc : wpath[0] == 0 ? ERR_INVAL : 0;
}

enum write_open { W_TRUNCATE, W_APPEND, W_IN_PLACE };

/* Opens path for writing: creating it and then truncating it or moving to
 * its end, or (W_IN_PLACE) only if it exists, at offset 0. Directories are
 * refused (ERR_INVAL). */
static int open_write(const char *path, enum write_open how, plat_file **ret_file)
{
    CHAR16 wpath[PATH_MAX16];
    EFI_FILE_HANDLE h;
    EFI_FILE_INFO *info;
    EFI_STATUS st;
    int rc;

    if ((rc = file_wpath(path, wpath)) != 0)
        return rc;
    rc = open_wpath(wpath,
                    EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE |
                        (how == W_IN_PLACE ? 0 : EFI_FILE_MODE_CREATE),
                    0, &h);
    if (rc)
        return rc;
    st = get_file_info(h, &info);
    if (EFI_ERROR(st)) {
        rc = efi_to_err(st);
        goto err_close;
    }
    if (info->Attribute & EFI_FILE_DIRECTORY) {
        rc = ERR_INVAL;
    } else if (how == W_APPEND) {
        rc = efi_to_err(h->SetPosition(h, info->FileSize));
    } else if (how == W_TRUNCATE && info->FileSize) {
        /* Open has no truncate mode: shrink through the file's info */
        info->FileSize = 0;
        rc = efi_to_err(h->SetInfo(h, &gEfiFileInfoGuid, info->Size, info));
    }
    g_bs->FreePool(info);
    if (rc)
        goto err_close;
    return wrap_handle(h, ret_file);

err_close:
    h->Close(h);
    return rc;
}

int plat_file_create(const char *path, plat_file **ret_file)
{
    return open_write(path, W_TRUNCATE, ret_file);
}

int plat_file_append(const char *path, plat_file **ret_file)
{
    return open_write(path, W_APPEND, ret_file);
}

int plat_file_open_rw(const char *path, plat_file **ret_file)
{
    return open_write(path, W_IN_PLACE, ret_file);
}

int plat_file_write(plat_file *f, const void *buf, size_t n)
{
    size_t done = 0;

    while (done < n) {
        UINTN size = n - done < WRITE_CHUNK ? n - done : WRITE_CHUNK;
        EFI_STATUS st = f->h->Write(f->h, &size, (char *)buf + done);
        if (EFI_ERROR(st))
            return efi_to_err(st);
        if (size == 0)
            return ERR_IO; /* no progress: do not spin */
        done += size;
    }
    return 0;
}

int plat_file_flush(plat_file *f)
{
    return efi_to_err(f->h->Flush(f->h));
}

/* Index just past the last '\' of w (0 when there is none). */
static size_t wbase(const CHAR16 *w)
{
    size_t base = 0;
    for (size_t i = 0; w[i]; i++)
        if (w[i] == L'\\')
            base = i + 1;
    return base;
}

/* EFI_FILE_INFO's FileName, set with SetInfo, renames; EDK2 reads it
 * relative to the file's directory, so the new base name alone keeps the
 * file where it is (a path there would move it, which the spec leaves
 * open, hence the same-directory rule). */
int plat_file_rename(const char *from, const char *to)
{
    CHAR16 wfrom[PATH_MAX16], wto[PATH_MAX16];
    EFI_FILE_HANDLE h, t;
    EFI_FILE_INFO *info, *renamed;
    EFI_STATUS st;
    int rc;

    if ((rc = path_to_ucs2(from, wfrom, PATH_MAX16)) != 0 ||
        (rc = path_to_ucs2(to, wto, PATH_MAX16)) != 0)
        return rc;
    size_t base = wbase(wfrom);
    if (!wfrom[0] || !wto[0] || wbase(wto) != base ||
        CompareMem(wfrom, wto, base * sizeof(CHAR16)) != 0)
        return ERR_INVAL;
    /* FAT refuses a taken name with EFI_ACCESS_DENIED, which also means
     * other things: tell this case apart before trying. */
    if (open_wpath(wto, EFI_FILE_MODE_READ, 0, &t) == 0) {
        t->Close(t);
        return ERR_EXISTS;
    }
    if ((rc = open_wpath(wfrom, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0, &h)) != 0)
        return rc;
    st = get_file_info(h, &info);
    if (EFI_ERROR(st)) {
        rc = efi_to_err(st);
        goto out_close;
    }
    UINTN name_bytes = (StrLen(wto + base) + 1) * sizeof(CHAR16);
    UINTN size = SIZE_OF_EFI_FILE_INFO + name_bytes;
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, size, (void **)&renamed))) {
        rc = ERR_NOMEM;
    } else {
        /* same size, times and attributes: only the name changes */
        CopyMem(renamed, info, SIZE_OF_EFI_FILE_INFO);
        CopyMem(renamed->FileName, wto + base, name_bytes);
        renamed->Size = size;
        rc = efi_to_err(h->SetInfo(h, &gEfiFileInfoGuid, size, renamed));
        g_bs->FreePool(renamed);
    }
    g_bs->FreePool(info);
out_close:
    h->Close(h);
    return rc;
}

int plat_file_delete(const char *path)
{
    CHAR16 wpath[PATH_MAX16];
    EFI_FILE_HANDLE h;
    EFI_FILE_INFO *info;
    EFI_STATUS st;
    int rc;

    if ((rc = file_wpath(path, wpath)) != 0)
        return rc;
    /* a read-only open first, so a missing file is ERR_NOT_FOUND even on a
     * write-protected volume */
    if ((rc = open_wpath(wpath, EFI_FILE_MODE_READ, 0, &h)) != 0)
        return rc;
    st = get_file_info(h, &info);
    h->Close(h);
    if (EFI_ERROR(st))
        return efi_to_err(st);
    int is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    g_bs->FreePool(info);
    if (is_dir)
        return ERR_INVAL;
    if ((rc = open_wpath(wpath, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE, 0, &h)) != 0)
        return rc;
    /* Delete closes the handle; failure is a warning, not an error */
    st = h->Delete(h);
    return st == EFI_WARN_DELETE_FAILURE ? ERR_IO : efi_to_err(st);
}

int plat_mkdir(const char *path)
{
    CHAR16 wpath[PATH_MAX16];
    EFI_FILE_HANDLE h;
    EFI_FILE_INFO *info;
    EFI_STATUS st;
    int rc;

    if ((rc = path_to_ucs2(path, wpath, PATH_MAX16)) != 0)
        return rc;
    if (wpath[0] == 0)
        return 0; /* the root */
    /* an existing directory is fine even on a write-protected volume */
    rc = open_wpath(wpath, EFI_FILE_MODE_READ, 0, &h);
    if (rc == ERR_NOT_FOUND) {
        rc = open_wpath(wpath, EFI_FILE_MODE_READ | EFI_FILE_MODE_WRITE | EFI_FILE_MODE_CREATE,
                        EFI_FILE_DIRECTORY, &h);
        if (rc == 0)
            h->Close(h);
        return rc;
    }
    if (rc)
        return rc;
    st = get_file_info(h, &info);
    h->Close(h);
    if (EFI_ERROR(st))
        return efi_to_err(st);
    rc = (info->Attribute & EFI_FILE_DIRECTORY) ? 0 : ERR_EXISTS;
    g_bs->FreePool(info);
    return rc;
}

int plat_dir_list(const char *dir, int (*fn)(const struct plat_dirent *e, void *ctx), void *ctx)
{
    EFI_FILE_HANDLE h;
    EFI_FILE_INFO *info;
    EFI_STATUS st;
    UINTN cap = SIZE_OF_EFI_FILE_INFO + 256 * sizeof(CHAR16);
    char name[NAME_MAX8];
    int rc;

    if ((rc = open_path(dir, &h)) != 0)
        return rc;
    st = get_file_info(h, &info);
    if (EFI_ERROR(st)) {
        rc = efi_to_err(st);
        goto out_close;
    }
    int is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    g_bs->FreePool(info);
    if (!is_dir) {
        rc = ERR_NOT_FOUND; /* like opendir() on a file: ENOTDIR */
        goto out_close;
    }
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, cap, (void **)&info))) {
        rc = ERR_NOMEM;
        goto out_close;
    }
    /* Each Read() on a directory returns one EFI_FILE_INFO; size 0 ends it. */
    for (;;) {
        UINTN size = cap;
        st = h->Read(h, &size, info);
        if (st == EFI_BUFFER_TOO_SMALL && size > cap) {
            /* the position did not advance: retry with a bigger buffer */
            g_bs->FreePool(info);
            cap = size;
            if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, cap, (void **)&info))) {
                rc = ERR_NOMEM;
                goto out_close;
            }
            continue;
        }
        if (EFI_ERROR(st)) {
            rc = efi_to_err(st);
            break;
        }
        if (size == 0 || size < SIZE_OF_EFI_FILE_INFO)
            break;
        ucs2_to_utf8(info->FileName, (size - SIZE_OF_EFI_FILE_INFO) / sizeof(CHAR16), name,
                     sizeof name);
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        struct plat_dirent e = {name, info->FileSize, (info->Attribute & EFI_FILE_DIRECTORY) != 0};
        if (fn(&e, ctx))
            break;
    }
    g_bs->FreePool(info);
out_close:
    h->Close(h);
    return rc;
}

/* ---- console -------------------------------------------------------------- */

/* One decoder per channel, so a diagnostic between the bytes of a split
 * character does not garble either. */
static struct u8dec g_out_dec, g_diag_dec;

static void con_flush(CHAR16 *buf, size_t *k)
{
    buf[*k] = 0;
    g_st->ConOut->OutputString(g_st->ConOut, buf);
    *k = 0;
}

static void con_write(struct u8dec *dec, const char *s, size_t n)
{
    CHAR16 buf[256];
    size_t k = 0;

    if (!g_st)
        return;
    for (size_t i = 0; i < n; i++) {
        int32_t cps[2];
        int m = u8_feed(dec, (unsigned char)s[i], cps);
        for (int j = 0; j < m; j++) {
            int32_t c = cps[j];
            /* '?' rather than U+FFFD: the serial terminal (PC-ANSI) and many
             * GOP fonts have no glyph for it. UCS-2 stops at the BMP. */
            if (c == U8_BAD || c > 0xFFFF)
                c = '?';
            if (c == 0)
                continue; /* would end the string early */
            if (k + 3 > ARRAY_LEN(buf)) /* room for "\r\n" and the NUL */
                con_flush(buf, &k);
            if (c == '\n')
                buf[k++] = L'\r';
            buf[k++] = (CHAR16)c;
        }
    }
    if (k)
        con_flush(buf, &k);
}

void plat_write(const char *s, size_t n)
{
    con_write(&g_out_dec, s, n);
}

/* UEFI has one console: diagnostics go to ConOut too. */
void plat_write_diag(const char *s, size_t n)
{
    con_write(&g_diag_dec, s, n);
}

/* Keyboard. OVMF's serial terminal (PC-ANSI type) passes on what it does
 * not understand byte by byte: UTF-8 arrives as one Latin-1 key per byte,
 * and escape sequences it does not know (Delete = ESC [ 3 ~, PgUp =
 * ESC [ 5 ~, F1 = ESC O P) arrive as ESC plus plain characters. The state
 * below rebuilds the first and swallows the second; a sequence whose rest
 * has not come after KEY_SEQ_US is given up. Enter is CR from a terminal,
 * LF from a pipe, sometimes CR LF: an LF right after a CR is dropped. */
#define KEY_SEQ_US 100000u

static struct {
    EFI_INPUT_KEY back; /* one key of push-back */
    int have_back;
    uint64_t cr_time; /* time of the last key if it was CR, else 0 */
    /* UTF-8 being rebuilt from Latin-1 keys */
    int u8_need, u8_got;
    uint32_t u8_cp, u8_min;
    CHAR16 u8_lead;
    uint64_t u8_time;
    /* escape sequence being swallowed (after ESC [ or ESC O) */
    int esc;
    unsigned esc_param;
    uint64_t esc_time;
} g_kb;

static int key_read(EFI_INPUT_KEY *k)
{
    if (g_kb.have_back) {
        *k = g_kb.back;
        g_kb.have_back = 0;
        return 1;
    }
    /* EFI_NOT_READY (or a device error): nothing to read */
    return !EFI_ERROR(g_st->ConIn->ReadKeyStroke(g_st->ConIn, k));
}

static void key_unread(const EFI_INPUT_KEY *k)
{
    g_kb.back = *k;
    g_kb.have_back = 1;
}

/* The character of a key without scan code; -1 for scan-code keys. */
static int key_char(const EFI_INPUT_KEY *k)
{
    return k->ScanCode == SCAN_NULL ? k->UnicodeChar : -1;
}

static int map_key(const EFI_INPUT_KEY *key)
{
    if (key->ScanCode != SCAN_NULL) {
        switch (key->ScanCode) {
        case SCAN_UP: return PLAT_KEY_UP;
        case SCAN_DOWN: return PLAT_KEY_DOWN;
        case SCAN_LEFT: return PLAT_KEY_LEFT;
        case SCAN_RIGHT: return PLAT_KEY_RIGHT;
        case SCAN_ESC: return PLAT_KEY_ESC;
        case SCAN_DELETE: return PLAT_KEY_BACKSPACE;
        default: return PLAT_KEY_NONE; /* F-keys, Home, PgUp, ... */
        }
    }
    switch (key->UnicodeChar) {
    case CHAR_NULL: return PLAT_KEY_NONE;
    case CHAR_CARRIAGE_RETURN:
    case CHAR_LINEFEED: return '\n';
    case CHAR_BACKSPACE:
    case 0x7F: return PLAT_KEY_BACKSPACE;
    case 0x1B: return PLAT_KEY_ESC;
    default:
        if (key->UnicodeChar >= 0xD800 && key->UnicodeChar <= 0xDFFF)
            return PLAT_KEY_NONE; /* half of a pair we cannot rebuild */
        return key->UnicodeChar;
    }
}

/* Nothing is queued: give up sequences whose rest never came. */
static int key_expire(uint64_t now)
{
    if (g_kb.esc && now - g_kb.esc_time > KEY_SEQ_US)
        g_kb.esc = 0;
    if (g_kb.u8_need && now - g_kb.u8_time > KEY_SEQ_US) {
        g_kb.u8_need = 0;
        /* a lone byte was most likely a real Latin-1 key (a keyboard's 'é') */
        return g_kb.u8_got ? 0xFFFD : g_kb.u8_lead;
    }
    return PLAT_KEY_NONE;
}

/* Feeds one key through the sequence state; returns a PLAT_KEY_* code, a
 * character, or PLAT_KEY_NONE when the key was consumed silently. */
static int key_step(const EFI_INPUT_KEY *key, uint64_t now)
{
    int c = key_char(key);

    if (g_kb.esc) {
        /* CSI/SS3 body: parameter bytes 0x30-0x3F, intermediates 0x20-0x2F,
         * then one final byte 0x40-0x7E */
        if (c >= '0' && c <= '9') {
            if (g_kb.esc_param < 1000)
                g_kb.esc_param = g_kb.esc_param * 10 + (unsigned)(c - '0');
            return PLAT_KEY_NONE;
        }
        if (c >= 0x20 && c <= 0x3F)
            return PLAT_KEY_NONE;
        g_kb.esc = 0;
        if (c >= 0x40 && c <= 0x7E) /* Delete, or a key we ignore */
            return c == '~' && g_kb.esc_param == 3 ? PLAT_KEY_BACKSPACE : PLAT_KEY_NONE;
        /* not an escape sequence after all: handle the key normally */
    }
    if (g_kb.u8_need) {
        if (c >= 0x80 && c <= 0xBF) {
            g_kb.u8_cp = (g_kb.u8_cp << 6) | ((uint32_t)c & 0x3F);
            g_kb.u8_got++;
            if (--g_kb.u8_need)
                return PLAT_KEY_NONE;
            uint32_t cp = g_kb.u8_cp;
            if (cp < g_kb.u8_min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0xFFFD;
            return (int)cp;
        }
        /* not UTF-8: hand out what was held back now, this key next time */
        g_kb.u8_need = 0;
        key_unread(key);
        return g_kb.u8_got ? 0xFFFD : g_kb.u8_lead;
    }
    if (c >= 0xC2 && c <= 0xF4) {
        g_kb.u8_need = c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
        g_kb.u8_min = g_kb.u8_need == 1 ? 0x80 : g_kb.u8_need == 2 ? 0x800 : 0x10000;
        g_kb.u8_cp = (uint32_t)c & (0x3Fu >> g_kb.u8_need);
        g_kb.u8_got = 0;
        g_kb.u8_lead = (CHAR16)c;
        g_kb.u8_time = now;
        return PLAT_KEY_NONE;
    }
    if (c == CHAR_LINEFEED && g_kb.cr_time && now - g_kb.cr_time < KEY_SEQ_US) {
        g_kb.cr_time = 0;
        return PLAT_KEY_NONE;
    }
    g_kb.cr_time = c == CHAR_CARRIAGE_RETURN ? now | 1 : 0;
    if (key->ScanCode == SCAN_ESC || c == 0x1B) {
        /* The terminal has already parsed the sequences it knows, so an ESC
         * with '[' or 'O' queued right behind it starts one it does not. */
        EFI_INPUT_KEY next;
        if (key_read(&next)) {
            int n = key_char(&next);
            if (n == '[' || n == 'O') {
                g_kb.esc = 1;
                g_kb.esc_param = 0;
                g_kb.esc_time = now;
                return PLAT_KEY_NONE;
            }
            key_unread(&next);
        }
        return PLAT_KEY_ESC;
    }
    return map_key(key);
}

int plat_key_poll(void)
{
    EFI_INPUT_KEY key;

    if (!g_st)
        return PLAT_KEY_NONE;
    uint64_t now = plat_time_us();
    /* Keys consumed silently (ignored scan codes, sequence bytes) do not end
     * the poll, so they never hide the key behind them. */
    for (int tries = 0; tries < 32; tries++) {
        if (!key_read(&key))
            return key_expire(now);
        int k = key_step(&key, now);
        if (k != PLAT_KEY_NONE)
            return k;
    }
    return PLAT_KEY_NONE;
}

/* ---- time ----------------------------------------------------------------- */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* GetTime usually ticks once a second, so the TSC is measured against
 * Stall. Each Stall call has a fixed cost (about 0.5 ms under QEMU TCG, which
 * made a single 50 ms Stall read 11% fast), so the rate is taken from the
 * difference between a 60 ms and a 10 ms Stall. */
static void tsc_calibrate(void)
{
    g_bs->Stall(1000); /* warm-up: first-call costs */
    uint64_t t0 = rdtsc();
    g_bs->Stall(10000);
    uint64_t t1 = rdtsc();
    g_bs->Stall(60000);
    uint64_t t2 = rdtsc();
    uint64_t short_ticks = t1 - t0, long_ticks = t2 - t1;
    if (long_ticks > short_ticks)
        g_tsc_hz = (long_ticks - short_ticks) * 20; /* ticks per 50 ms * 20 */
    else
        g_tsc_hz = long_ticks * 1000 / 60;
    if (g_tsc_hz < 1000000)
        g_tsc_hz = 1000000; /* nonsense reading: keep time moving, never divide by 0 */
    g_tsc0 = t0;
}

/* TSC rate found at start-up, for diagnostics. */
uint64_t platform_efi_tsc_hz(void)
{
    return g_tsc_hz;
}

uint64_t plat_time_us(void)
{
    uint64_t d = rdtsc() - g_tsc0;
    /* split so d * 1000000 cannot overflow; 64-bit divides need no libgcc */
    return d / g_tsc_hz * 1000000u + d % g_tsc_hz * 1000000u / g_tsc_hz;
}

uint64_t plat_time_wall(void)
{
    EFI_TIME t;
    if (EFI_ERROR(g_rt->GetTime(&t, NULL)) || t.Year < 1970 || t.Month < 1 || t.Month > 12 ||
        t.Day < 1 || t.Day > 31 || t.Hour > 23 || t.Minute > 59 || t.Second > 59)
        return 0;
    /* days from civil (H. Hinnant), the inverse of export_time's */
    uint64_t y = t.Year - (t.Month <= 2), era = y / 400, yoe = y - era * 400;
    uint64_t doy = (153 * (t.Month > 2 ? t.Month - 3 : t.Month + 9) + 2) / 5 + t.Day - 1;
    uint64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    return days * 86400 + t.Hour * 3600u + t.Minute * 60u + t.Second;
}

void plat_idle(void)
{
    g_bs->Stall(1000);
}

/* ---- machine -------------------------------------------------------------- */

void plat_shutdown(int status)
{
    if (g_root) {
        g_root->Close(g_root); /* lets the FAT driver flush */
        g_root = NULL;
    }
    g_rt->ResetSystem(EfiResetShutdown, status == 0 ? EFI_SUCCESS : EFI_ABORTED, 0, NULL);
    for (;;) /* ResetSystem does not return; the compiler must know we don't either */
        __asm__ volatile("hlt");
}

/* ---- compute --------------------------------------------------------------
 * All cores through the PI MP Services protocol (declared here: Debian's
 * gnu-efi has no efimp.h). At start-up every enabled AP is started once, in
 * non-blocking mode (a WaitEvent), into ap_entry: it enables its own SIMD
 * state (CR4/XCR0 are per core) and spins in ap_loop, never calling the
 * firmware. Each worker has a sequence number in its own cache line;
 * plat_parallel_for fills g_job, bumps the sequence of the workers it wants,
 * takes indices from the same atomic cursor itself and spins until the
 * workers' pending count is 0. Each index runs once, on one core, so results
 * do not depend on the thread count. At exit (platform_efi_fini) the workers
 * return to the firmware, so no AP runs this image's code once it is
 * unloaded. ResetSystem needs none of that. */

#define EFI_MP_SERVICES_GUID \
    {0x3fdda605, 0xa76e, 0x4f46, {0xad, 0x29, 0x12, 0xf4, 0x53, 0x1b, 0x3d, 0x08}}
#define MP_PROCESSOR_AS_BSP 0x1u
#define MP_PROCESSOR_ENABLED 0x2u

typedef VOID(EFIAPI *efi_ap_procedure)(VOID *arg);

/* EFI_PROCESSOR_INFORMATION (PI 1.7 layout; ExtendedInformation is written
 * only when the caller asks for it, but the room costs nothing). */
struct efi_processor_info {
    UINT64 ProcessorId;
    UINT32 StatusFlag;
    UINT32 Package, Core, Thread; /* EFI_CPU_PHYSICAL_LOCATION */
    UINT32 Extended[6];           /* EFI_CPU_PHYSICAL_LOCATION2 */
};

struct efi_mp_services {
    EFI_STATUS(EFIAPI *GetNumberOfProcessors)(struct efi_mp_services *This, UINTN *total,
                                              UINTN *enabled);
    EFI_STATUS(EFIAPI *GetProcessorInfo)(struct efi_mp_services *This, UINTN cpu,
                                         struct efi_processor_info *info);
    EFI_STATUS(EFIAPI *StartupAllAPs)(struct efi_mp_services *This, efi_ap_procedure proc,
                                      BOOLEAN single_thread, EFI_EVENT wait_event,
                                      UINTN timeout_us, VOID *arg, UINTN **failed_cpus);
    EFI_STATUS(EFIAPI *StartupThisAP)(struct efi_mp_services *This, efi_ap_procedure proc,
                                      UINTN cpu, EFI_EVENT wait_event, UINTN timeout_us,
                                      VOID *arg, BOOLEAN *finished);
    EFI_STATUS(EFIAPI *SwitchBSP)(struct efi_mp_services *This, UINTN cpu, BOOLEAN enable_old);
    EFI_STATUS(EFIAPI *EnableDisableAP)(struct efi_mp_services *This, UINTN cpu,
                                        BOOLEAN enable, UINT32 *health);
    EFI_STATUS(EFIAPI *WhoAmI)(struct efi_mp_services *This, UINTN *cpu);
};

#define PF_MAX_WORKERS 255
/* Start-up waits this long for started APs to reach ap_loop, exit this long
 * for them to return to the firmware (milliseconds). */
#define AP_CHECKIN_MS 2000
#define AP_EXIT_MS 2000

struct pf_slot {
    UINT32 seq; /* bumped by the BSP to hand this worker a job (atomic) */
} __attribute__((aligned(64)));

static struct pf_job g_job;
static struct pf_slot g_slot[PF_MAX_WORKERS];
static int g_ap_ready;  /* workers that reached ap_loop; hands out ids (atomic) */
static int g_ap_quit;   /* set at exit: workers return to the firmware (atomic) */
static int g_workers;   /* workers that checked in at start-up (ids 0..g_workers-1) */
static int g_threads = 1; /* threads parallel_for uses, BSP included */
static int g_in_job;    /* a job is running (atomic): nested calls run serially */
static EFI_EVENT *g_ap_events; /* one WaitEvent per started AP (pool memory) */
static UINTN g_ap_started;
/* Each started AP's stack (ap_entry), freed once the AP is back in the
 * firmware. */
#define AP_STACK_BYTES (128u << 10)
static void **g_ap_stacks;
static int g_ap_foreign_stack; /* workers that found themselves elsewhere (atomic) */

#define NO_SIMD __attribute__((target("general-regs-only")))

static inline void cpu_relax(void)
{
    __asm__ volatile("pause" ::: "memory");
}

/* The worker loop, on an AP with SIMD state enabled. MS ABI like its caller,
 * so the XMM registers it must preserve are saved here, after
 * efi_cpu_enable_simd, not in ap_entry. Returns only at exit. */
static __attribute__((noinline)) void EFIAPI ap_loop(void *stack)
{
    int id = __atomic_fetch_add(&g_ap_ready, 1, __ATOMIC_ACQ_REL);
    UINT32 seen = 0, seq = 0;
    char here;

    if ((uintptr_t)&here - (uintptr_t)stack >= AP_STACK_BYTES) /* not on its own stack */
        __atomic_fetch_add(&g_ap_foreign_stack, 1, __ATOMIC_RELAXED);
    /* A worker that checked in after start-up gave up waiting (id >=
     * g_workers) is never handed a job: its sequence stays 0. */
    struct pf_slot *slot = id < PF_MAX_WORKERS ? &g_slot[id] : NULL;
    for (;;) {
        while (!slot || (seq = __atomic_load_n(&slot->seq, __ATOMIC_ACQUIRE)) == seen) {
            if (__atomic_load_n(&g_ap_quit, __ATOMIC_ACQUIRE))
                return;
            cpu_relax();
        }
        seen = seq;
        pf_job_run(&g_job, id + 1);
        __atomic_sub_fetch(&g_job.pending, 1, __ATOMIC_RELEASE);
    }
}

/* What MP Services calls on each AP, with arg the base of AP_STACK_BYTES
 * of memory of this image's: the worker loop runs on that, not on the
 * firmware's AP stack, which platforms size for firmware code (4 KiB on
 * some), while the kernels keep tiles and accumulators there (simd_tile.h:
 * 8 KiB and more). No SSE here: the AP's CR4 may not allow it yet. Its
 * callees are MS ABI too, so it has no XMM registers to save. */
static NO_SIMD void EFIAPI ap_entry(void *arg)
{
    efi_cpu_enable_simd();
    uintptr_t top = ((uintptr_t)arg + AP_STACK_BYTES) & ~(uintptr_t)15;
    /* rsp to the new stack's top less the callee's 32-byte shadow space
     * (16-byte aligned at the call), ap_loop(arg), the old rsp back from
     * rbx (callee-saved, so ap_loop keeps it). */
    __asm__ volatile("mov %%rsp, %%rbx\n\t"
                     "mov %0, %%rsp\n\t"
                     "sub $32, %%rsp\n\t"
                     "call *%2\n\t"
                     "mov %%rbx, %%rsp"
                     :
                     : "r"(top), "c"(arg), "r"(ap_loop)
                     : "rax", "rbx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    plat_write_diag(buf, strlen(buf));
}

/* Starts every enabled AP into ap_entry and waits for them to check in.
 * Without MP Services or with one CPU, parallel_for stays on the BSP. */
static void mp_start(void)
{
    EFI_GUID guid = EFI_MP_SERVICES_GUID;
    struct efi_mp_services *mp = NULL;
    UINTN total = 0, enabled = 0, self = 0;

    if (EFI_ERROR(g_bs->LocateProtocol(&guid, NULL, (void **)&mp)) || !mp) {
        diag("No MP Services: running single-threaded.\n");
        return;
    }
    if (EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled)) || enabled <= 1 ||
        EFI_ERROR(mp->WhoAmI(mp, &self))) {
        diag("One CPU: running single-threaded.\n");
        return;
    }
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, total * sizeof(EFI_EVENT),
                                     (void **)&g_ap_events))) {
        g_ap_events = NULL;
        diag("Out of memory for MP start-up: running single-threaded.\n");
        return;
    }
    if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, total * sizeof(void *), (void **)&g_ap_stacks))) {
        g_bs->FreePool(g_ap_events);
        g_ap_events = NULL;
        g_ap_stacks = NULL;
        diag("Out of memory for MP start-up: running single-threaded.\n");
        return;
    }
    for (UINTN cpu = 0; cpu < total && g_ap_started < PF_MAX_WORKERS; cpu++) {
        struct efi_processor_info info;
        EFI_EVENT ev;
        memset(&info, 0, sizeof info);
        if (cpu == self || EFI_ERROR(mp->GetProcessorInfo(mp, cpu, &info)) ||
            (info.StatusFlag & (MP_PROCESSOR_AS_BSP | MP_PROCESSOR_ENABLED)) !=
                MP_PROCESSOR_ENABLED)
            continue;
        void *stack = NULL;
        if (EFI_ERROR(g_bs->AllocatePool(EfiLoaderData, AP_STACK_BYTES, &stack)))
            break;
        if (EFI_ERROR(g_bs->CreateEvent(0, 0, NULL, NULL, &ev))) {
            g_bs->FreePool(stack);
            break;
        }
        /* Non-blocking (a WaitEvent), no time-out: the AP never finishes
         * until platform_efi_fini tells it to. */
        if (EFI_ERROR(mp->StartupThisAP(mp, ap_entry, cpu, ev, 0, stack, NULL))) {
            g_bs->CloseEvent(ev);
            g_bs->FreePool(stack);
            continue;
        }
        g_ap_stacks[g_ap_started] = stack;
        g_ap_events[g_ap_started++] = ev;
    }
    for (int ms = 0; ms < AP_CHECKIN_MS &&
                     __atomic_load_n(&g_ap_ready, __ATOMIC_ACQUIRE) < (int)g_ap_started;
         ms++)
        g_bs->Stall(1000);
    if (__atomic_load_n(&g_ap_foreign_stack, __ATOMIC_ACQUIRE)) {
        diag("Processors started off their stacks: running single-threaded.\n");
        return; /* g_threads stays 1: no job reaches them */
    }
    /* Those that check in later get ids >= g_workers and are never used. */
    g_workers = __atomic_load_n(&g_ap_ready, __ATOMIC_ACQUIRE);
    if (g_workers > PF_MAX_WORKERS)
        g_workers = PF_MAX_WORKERS;
    g_threads = g_workers + 1;
    if (g_workers < (int)enabled - 1)
        diag("%d of %d processors started.\n", g_workers + 1, (int)enabled);
}

/* Sends the workers back to the firmware and waits until MP Services
 * reports them finished, so no AP runs in this image after it returns. */
void platform_efi_fini(void)
{
    g_threads = 1;
    g_workers = 0;
    if (!g_ap_started)
        return;
    __atomic_store_n(&g_ap_quit, 1, __ATOMIC_RELEASE);
    /* MP Services polls its APs on a timer (every 100 ms in EDK2) and then
     * signals their WaitEvents. */
    UINTN done = 0;
    for (int ms = 0; ms < AP_EXIT_MS && done < g_ap_started; ms++) {
        done = 0;
        for (UINTN i = 0; i < g_ap_started; i++)
            if (g_ap_events[i] && g_bs->CheckEvent(g_ap_events[i]) == EFI_SUCCESS) {
                g_bs->CloseEvent(g_ap_events[i]);
                g_ap_events[i] = NULL;
            }
        for (UINTN i = 0; i < g_ap_started; i++)
            done += g_ap_events[i] == NULL;
        if (done < g_ap_started)
            g_bs->Stall(1000);
    }
    /* An AP that has not finished keeps its event (the firmware still owns
     * the request); there is nothing more to do for it. */
    if (done == g_ap_started) {
        for (UINTN i = 0; i < g_ap_started; i++) /* no AP runs on them any more */
            g_bs->FreePool(g_ap_stacks[i]);
        g_bs->FreePool(g_ap_stacks);
        g_ap_stacks = NULL;
        g_bs->FreePool(g_ap_events);
        g_ap_events = NULL;
    }
    g_ap_started = 0;
}

int plat_num_threads(void)
{
    return g_threads;
}

void plat_set_threads(int n)
{
    int all = g_ap_quit ? 1 : g_workers + 1;
    g_threads = n <= 0 || n > all ? all : n;
    if (n > all)
        diag("threads: %d (threads=%d asked; %d processors)\n", g_threads, n, all);
    else
        diag("threads: %d\n", g_threads);
}

void plat_parallel_for(int n, void (*fn)(int i, void *ctx), void *ctx)
{
    if (n <= 0)
        return;
    int nw = g_threads - 1;
    if (nw > n - 1)
        nw = n - 1; /* no more workers than indices */
    if (nw <= 0 || __atomic_exchange_n(&g_in_job, 1, __ATOMIC_ACQUIRE)) {
        for (int i = 0; i < n; i++) /* one thread, or a nested call */
            fn(i, ctx);
        return;
    }
    /* No worker reads g_job now: all of the previous job's have finished. */
    pf_job_start(&g_job, fn, ctx, n, nw);
    for (int w = 0; w < nw; w++)
        __atomic_store_n(&g_slot[w].seq, g_slot[w].seq + 1, __ATOMIC_RELEASE);
    pf_job_run(&g_job, 0);
    while (__atomic_load_n(&g_job.pending, __ATOMIC_ACQUIRE) != 0)
        cpu_relax();
    __atomic_store_n(&g_in_job, 0, __ATOMIC_RELEASE);
}

/* ---- set-up --------------------------------------------------------------- */

EFI_STATUS platform_efi_init(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    g_image = image;
    g_st = systab;
    g_bs = systab->BootServices;
    g_rt = systab->RuntimeServices;
    /* Not fatal: open_path retries, and the console works without files. */
    if (EFI_ERROR(open_volume(&g_root)))
        g_root = NULL;
    tsc_calibrate();
    mp_start();
    return EFI_SUCCESS;
}

/* ---- network device ------------------------------------------------------------ */

int plat_net_open(struct net_link *ret_link, char *why, size_t why_cap)
{
    if (!g_bs)
        return ERR_IO;
    return net_snp_open(g_image, g_bs, ret_link, why, why_cap);
}

void plat_net_close(void)
{
    net_snp_close();
}
