/* platform_posix.c - platform.h on Linux: files under a root directory, the
 * terminal (raw mode) or a pipe as keyboard, stdout as console, a pthread
 * pool for parallel_for. */
#include "pfjob.h"
#include "platform.h"
#include "platform_posix.h"
#include "errors.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static char root_dir[4096] = ".";

void plat_posix_set_root(const char *dir)
{
    snprintf(root_dir, sizeof root_dir, "%s", dir && *dir ? dir : ".");
}

static void full_path(const char *path, char *out, size_t cap)
{
    if (path[0] == '/')
        snprintf(out, cap, "%s", path);
    else
        snprintf(out, cap, "%s/%s", root_dir, path);
}

static int errno_to_err(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR: return ERR_NOT_FOUND;
    case ENOMEM: return ERR_NOMEM;
    case EINVAL:
    case EISDIR: return ERR_INVAL;
    case EROFS: return ERR_WRITE_PROTECTED;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return ERR_VOLUME_FULL;
    case EACCES:
    case EPERM: return ERR_ACCESS;
    case EEXIST:
    case ENOTEMPTY: return ERR_EXISTS;
    default: return ERR_IO;
    }
}

/* ---- memory ----
 * The C heap (not mmap) so that LeakSanitizer sees every block the core
 * forgets to return; the live counter lets tests assert it directly.
 * Big blocks (model weights, the KV cache) ask for 2 MiB pages, as UEFI
 * firmware usually identity-maps memory with large pages: with 4 KiB pages
 * every 4 KiB of weights also costs a page walk, and one core decoded
 * TinyLlama Q4_0 at 72% of the roofline instead of 80%. */
static size_t live_bytes;

#define HUGE_PAGE ((size_t)2 << 20)

void *plat_alloc(size_t bytes)
{
    void *p = NULL;
    const int big = bytes >= 4 * HUGE_PAGE;
    if (posix_memalign(&p, big ? HUGE_PAGE : 64, bytes ? bytes : 1) != 0)
        return NULL;
    if (big) /* advice only: without transparent huge pages, small pages */
        madvise(p, bytes & ~(HUGE_PAGE - 1), MADV_HUGEPAGE);
    memset(p, 0, bytes);
    live_bytes += bytes;
    return p;
}

void plat_free(void *p, size_t bytes)
{
    if (p) {
        live_bytes -= bytes;
        free(p);
    }
}

uint64_t plat_mem_free(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}

size_t plat_posix_live_bytes(void)
{
    return live_bytes;
}

/* ---- files ---- */
struct plat_file {
    FILE *fp;
};

int plat_file_open(const char *path, plat_file **ret_file)
{
    char full[4096 + 256];
    full_path(path, full, sizeof full);
    struct stat st;
    if (stat(full, &st) != 0)
        return errno_to_err(errno);
    if (S_ISDIR(st.st_mode))
        return ERR_INVAL;
    FILE *fp = fopen(full, "rb");
    if (!fp)
        return errno_to_err(errno);
    plat_file *f = malloc(sizeof *f);
    if (!f) {
        fclose(fp);
        return ERR_NOMEM;
    }
    f->fp = fp;
    *ret_file = f;
    return 0;
}

int plat_file_size(plat_file *f, uint64_t *ret_size)
{
    struct stat st;
    if (fstat(fileno(f->fp), &st) != 0)
        return ERR_IO;
    *ret_size = (uint64_t)st.st_size;
    return 0;
}

int plat_file_read(plat_file *f, void *buf, size_t n, size_t *ret_got)
{
    size_t got = fread(buf, 1, n, f->fp);
    if (got < n && ferror(f->fp))
        return ERR_IO;
    *ret_got = got;
    return 0;
}

int plat_file_seek(plat_file *f, uint64_t offset)
{
    return fseeko(f->fp, (off_t)offset, SEEK_SET) == 0 ? 0 : ERR_IO;
}

void plat_file_close(plat_file *f)
{
    if (f) {
        fclose(f->fp);
        free(f);
    }
}

/* ---- writing files ----
 * Test hooks (platform_posix.h) stand in for a small volume, a power cut and
 * FAT's rename, so the storage tests see what the firmware would do. */
static long long write_budget = -1; /* bytes writable before ERR_VOLUME_FULL; -1: no limit */
static int power_budget = -1;       /* file-changing calls before the cut; -1: no cut */
static int fat_rename;              /* rename refuses an existing target */

void plat_posix_fail_writes_after(long long bytes)
{
    write_budget = bytes;
}

void plat_posix_cut_power_after(int calls)
{
    power_budget = calls;
}

void plat_posix_set_fat_rename(int on)
{
    fat_rename = on;
}

/* Every call that changes the disk asks first; after the cut nothing does. */
static int power_on(void)
{
    if (power_budget == 0)
        return 0;
    if (power_budget > 0)
        power_budget--;
    return 1;
}

/* fsync of the directory holding full, so a new or removed name is on disk. */
static void sync_parent(const char *full)
{
    char dir[4096 + 256];
    snprintf(dir, sizeof dir, "%s", full);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    int fd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int open_write(const char *path, const char *mode, plat_file **ret_file)
{
    char full[4096 + 256];
    full_path(path, full, sizeof full);
    if (!power_on())
        return ERR_IO;
    FILE *fp = fopen(full, mode);
    if (!fp)
        return errno_to_err(errno);
    setvbuf(fp, NULL, _IONBF, 0); /* every plat_file_write reaches the kernel */
    plat_file *f = malloc(sizeof *f);
    if (!f) {
        fclose(fp);
        return ERR_NOMEM;
    }
    f->fp = fp;
    *ret_file = f;
    return 0;
}

int plat_file_create(const char *path, plat_file **ret_file)
{
    return open_write(path, "wb", ret_file);
}

int plat_file_append(const char *path, plat_file **ret_file)
{
    return open_write(path, "ab", ret_file);
}

int plat_volume_free(uint64_t *ret_bytes)
{
    char full[4096 + 256];
    struct statvfs sv;
    full_path("", full, sizeof full);
    if (statvfs(full[0] ? full : ".", &sv) != 0)
        return errno_to_err(errno);
    *ret_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (write_budget >= 0 && (uint64_t)write_budget < *ret_bytes)
        *ret_bytes = (uint64_t)write_budget; /* the test hook's small volume */
    return 0;
}

int plat_file_open_rw(const char *path, plat_file **ret_file)
{
    return open_write(path, "r+b", ret_file);
}

int plat_file_write(plat_file *f, const void *buf, size_t n)
{
    if (!power_on())
        return ERR_IO;
    size_t allowed = n;
    if (write_budget >= 0 && (unsigned long long)write_budget < n)
        allowed = (size_t)write_budget;
    size_t put = fwrite(buf, 1, allowed, f->fp);
    if (write_budget >= 0)
        write_budget -= (long long)put;
    if (put < allowed)
        return errno_to_err(errno);
    return allowed < n ? ERR_VOLUME_FULL : 0;
}

int plat_file_flush(plat_file *f)
{
    if (!power_on())
        return ERR_IO;
    if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0)
        return errno_to_err(errno);
    return 0;
}

/* Length of path's directory part (up to its last '/'), 0 for none. */
static size_t dir_len(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? (size_t)(slash - path) : 0;
}

int plat_file_rename(const char *from, const char *to)
{
    char full_from[4096 + 256], full_to[4096 + 256];
    struct stat st;
    size_t n = dir_len(from);
    if (n != dir_len(to) || strncmp(from, to, n) != 0)
        return ERR_INVAL; /* UEFI renames within a directory only */
    full_path(from, full_from, sizeof full_from);
    full_path(to, full_to, sizeof full_to);
    if (stat(full_from, &st) != 0)
        return errno_to_err(errno);
    if (fat_rename && stat(full_to, &st) == 0)
        return ERR_EXISTS;
    if (!power_on())
        return ERR_IO;
    if (rename(full_from, full_to) != 0)
        return errno_to_err(errno);
    sync_parent(full_to);
    return 0;
}

int plat_file_delete(const char *path)
{
    char full[4096 + 256];
    struct stat st;
    full_path(path, full, sizeof full);
    if (stat(full, &st) != 0)
        return errno_to_err(errno);
    if (S_ISDIR(st.st_mode))
        return ERR_INVAL;
    if (!power_on())
        return ERR_IO;
    if (unlink(full) != 0)
        return errno_to_err(errno);
    sync_parent(full);
    return 0;
}

int plat_mkdir(const char *path)
{
    char full[4096 + 256];
    struct stat st;
    full_path(path, full, sizeof full);
    if (stat(full, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : ERR_EXISTS;
    if (!power_on())
        return ERR_IO;
    if (mkdir(full, 0777) != 0)
        return errno_to_err(errno);
    sync_parent(full);
    return 0;
}

int plat_dir_list(const char *dir, int (*fn)(const struct plat_dirent *e, void *ctx), void *ctx)
{
    char full[4096 + 256];
    full_path(dir, full, sizeof full);
    DIR *d = opendir(full);
    if (!d)
        return errno_to_err(errno);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char entry[4096 + 512];
        snprintf(entry, sizeof entry, "%s/%s", full, de->d_name);
        struct stat st;
        if (stat(entry, &st) != 0)
            continue;
        struct plat_dirent e = {de->d_name, (uint64_t)st.st_size, S_ISDIR(st.st_mode)};
        if (fn(&e, ctx))
            break;
    }
    closedir(d);
    return 0;
}

/* ---- console ---- */
void plat_write(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
    fflush(stdout);
}

void plat_write_diag(const char *s, size_t n)
{
    fflush(stdout);
    fwrite(s, 1, n, stderr);
    fflush(stderr);
}

static struct termios saved_termios;
static int raw_mode;

static void console_restore(void)
{
    if (raw_mode)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
    raw_mode = 0;
}

void plat_posix_console_init(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
        return;
    struct termios raw = saved_termios;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
        raw_mode = 1;
        atexit(console_restore);
    }
}

static int stdin_eof;

/* One byte from stdin if one is ready within timeout_ms; -1 otherwise. */
static int read_byte(int timeout_ms)
{
    if (stdin_eof)
        return -1;
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0)
        return -1;
    unsigned char c;
    ssize_t r = read(STDIN_FILENO, &c, 1);
    if (r <= 0) {
        stdin_eof = 1;
        return -1;
    }
    return c;
}

int plat_key_poll(void)
{
    int c = read_byte(0);
    if (c < 0)
        return stdin_eof ? PLAT_KEY_EOF : PLAT_KEY_NONE;
    if (c == '\r' || c == '\n')
        return '\n';
    if (c == 127 || c == 8)
        return PLAT_KEY_BACKSPACE;
    if (c == 27) { /* ESC [ A..D are the arrow keys; a lone ESC is ESC */
        int c2 = read_byte(20);
        if (c2 != '[')
            return PLAT_KEY_ESC;
        switch (read_byte(20)) {
        case 'A': return PLAT_KEY_UP;
        case 'B': return PLAT_KEY_DOWN;
        case 'C': return PLAT_KEY_RIGHT;
        case 'D': return PLAT_KEY_LEFT;
        default: return PLAT_KEY_NONE;
        }
    }
    if (c < 0x80)
        return c;
    /* UTF-8 lead byte: gather the continuation bytes into one code point */
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (extra < 0)
        return 0xFFFD;
    int cp = c & (0x3F >> extra);
    for (int i = 0; i < extra; i++) {
        int b = read_byte(20);
        if (b < 0 || (b & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (b & 0x3F);
    }
    return cp;
}

/* ---- time ---- */
uint64_t plat_time_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t plat_time_wall(void)
{
    time_t t = time(NULL);
    return t > 0 ? (uint64_t)t : 0;
}

void plat_idle(void)
{
    /* wait for input or 1 ms, whichever comes first */
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    poll(&p, stdin_eof ? 0 : 1, 1);
}

void plat_shutdown(int status)
{
    fflush(stdout);
    exit(status);
}

/* ---- compute ----
 * A pool of worker threads started lazily (and grown when more threads are
 * asked for). Each worker has its own sequence number; plat_parallel_for
 * fills g_job, bumps the sequence of the workers it wants and wakes them.
 * The caller and the workers take indices from one atomic cursor, so every
 * index runs exactly once, on one thread; the caller returns when the
 * pending count of woken workers is back to 0. Workers spin a little before
 * sleeping on the condition variable: matmuls come in quick bursts. */
#define PF_MAX_THREADS 64
#define PF_SPIN 4000 /* pause loops before sleeping, about 0.1-0.5 ms */

struct pf_worker {
    pthread_t tid;
    unsigned seq; /* bumped by the caller to hand out a job (atomic) */
} __attribute__((aligned(64)));

static struct pf_job g_job;
static struct pf_worker g_workers[PF_MAX_THREADS - 1];
static int g_started;     /* workers running */
static int g_threads_req; /* plat_set_threads: 0 = all cores */
static int g_in_job;      /* a job is running (atomic): nested calls run serially */
static int g_cpus;        /* online CPUs, read once */
static pthread_mutex_t g_pf_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_pf_wake = PTHREAD_COND_INITIALIZER; /* new job */
static pthread_cond_t g_pf_done = PTHREAD_COND_INITIALIZER; /* pending hit 0 */
/* Who is asleep on the condition variables (atomic): the lock and the
 * wake-up call are only paid when someone actually sleeps, not on each of
 * the hundreds of jobs a token takes. Each side publishes its own flag then
 * reads the other's (both seq_cst), so one of them always sees the other. */
static int g_sleepers;     /* workers waiting on g_pf_wake */
static int g_caller_waits; /* the caller waiting on g_pf_done */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *pf_worker_main(void *arg)
{
    struct pf_worker *w = arg;
    unsigned seen = 0, seq;

    for (;;) {
        int spin = 0;
        while ((seq = __atomic_load_n(&w->seq, __ATOMIC_ACQUIRE)) == seen && spin < PF_SPIN) {
            cpu_relax();
            spin++;
        }
        if (seq == seen) {
            pthread_mutex_lock(&g_pf_mu);
            __atomic_add_fetch(&g_sleepers, 1, __ATOMIC_SEQ_CST);
            while ((seq = __atomic_load_n(&w->seq, __ATOMIC_SEQ_CST)) == seen)
                pthread_cond_wait(&g_pf_wake, &g_pf_mu);
            __atomic_sub_fetch(&g_sleepers, 1, __ATOMIC_SEQ_CST);
            pthread_mutex_unlock(&g_pf_mu);
        }
        seen = seq;
        pf_job_run(&g_job, (int)(w - g_workers) + 1);
        if (__atomic_sub_fetch(&g_job.pending, 1, __ATOMIC_SEQ_CST) == 0 &&
            __atomic_load_n(&g_caller_waits, __ATOMIC_SEQ_CST)) {
            pthread_mutex_lock(&g_pf_mu);
            pthread_cond_signal(&g_pf_done);
            pthread_mutex_unlock(&g_pf_mu);
        }
    }
    return NULL;
}

int plat_num_threads(void)
{
    int n = g_threads_req;
    if (n <= 0) {
        if (!g_cpus) {
            long cpus = sysconf(_SC_NPROCESSORS_ONLN);
            g_cpus = cpus > 0 ? (int)(cpus < PF_MAX_THREADS ? cpus : PF_MAX_THREADS) : 1;
        }
        n = g_cpus;
    }
    return n < PF_MAX_THREADS ? n : PF_MAX_THREADS;
}

void plat_set_threads(int n)
{
    g_threads_req = n > 0 ? n : 0;
}

/* Starts workers until want run (or thread creation fails); returns how many
 * run. Threads are detached and live until the process exits. */
static int pf_grow(int want)
{
    while (g_started < want) {
        struct pf_worker *w = &g_workers[g_started];
        pthread_attr_t attr;
        int ok = pthread_attr_init(&attr) == 0;
        if (ok) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            ok = pthread_create(&w->tid, &attr, pf_worker_main, w) == 0;
            pthread_attr_destroy(&attr);
        }
        if (!ok)
            break;
        g_started++;
    }
    return g_started;
}

void plat_parallel_for(int n, void (*fn)(int i, void *ctx), void *ctx)
{
    if (n <= 0)
        return;
    int nw = plat_num_threads() - 1;
    if (nw > n - 1)
        nw = n - 1; /* no more threads than indices */
    if (nw > 0 && !__atomic_exchange_n(&g_in_job, 1, __ATOMIC_ACQUIRE)) {
        if (pf_grow(nw) < nw)
            nw = g_started;
        if (nw <= 0)
            __atomic_store_n(&g_in_job, 0, __ATOMIC_RELEASE);
    } else {
        nw = 0; /* one thread, or a nested call */
    }
    if (nw <= 0) {
        for (int i = 0; i < n; i++)
            fn(i, ctx);
        return;
    }
    /* No worker reads g_job now: the previous job's workers all finished. */
    pf_job_start(&g_job, fn, ctx, n, nw);
    for (int w = 0; w < nw; w++)
        __atomic_store_n(&g_workers[w].seq, g_workers[w].seq + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&g_sleepers, __ATOMIC_SEQ_CST)) {
        pthread_mutex_lock(&g_pf_mu);
        pthread_cond_broadcast(&g_pf_wake);
        pthread_mutex_unlock(&g_pf_mu);
    }
    pf_job_run(&g_job, 0);
    for (int spin = 0; __atomic_load_n(&g_job.pending, __ATOMIC_ACQUIRE) != 0 && spin < PF_SPIN; spin++)
        cpu_relax();
    if (__atomic_load_n(&g_job.pending, __ATOMIC_ACQUIRE) != 0) {
        pthread_mutex_lock(&g_pf_mu);
        __atomic_store_n(&g_caller_waits, 1, __ATOMIC_SEQ_CST);
        while (__atomic_load_n(&g_job.pending, __ATOMIC_SEQ_CST) != 0)
            pthread_cond_wait(&g_pf_done, &g_pf_mu);
        __atomic_store_n(&g_caller_waits, 0, __ATOMIC_SEQ_CST);
        pthread_mutex_unlock(&g_pf_mu);
    }
    __atomic_store_n(&g_in_job, 0, __ATOMIC_RELEASE);
}

/* ---- network device: a TAP interface ----------------------------------------------
 * LLM_TAP names an existing TAP device (tests create one in a network
 * namespace: ip tuntap add dev NAME mode tap); frames are read and written
 * whole, without the packet-info header. The MAC is LLM_MAC ("02:00:00:00:00:01",
 * the default: locally administered). */
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include "net.h"

static int tap_fd = -1;

static int tap_send(void *ctx, const void *frame, size_t len)
{
    (void)ctx;
    uint8_t padded[60];
    if (len < sizeof padded) { /* the Ethernet minimum, as a NIC pads */
        memcpy(padded, frame, len);
        memset(padded + len, 0, sizeof padded - len);
        frame = padded;
        len = sizeof padded;
    }
    ssize_t put = write(tap_fd, frame, len);
    if (put < 0 && (errno == EAGAIN || errno == ENOBUFS))
        return ERR_AGAIN;
    return put == (ssize_t)len ? 0 : ERR_IO;
}

static int tap_recv(void *ctx, void *buf, size_t cap, size_t *ret_len)
{
    (void)ctx;
    ssize_t got = read(tap_fd, buf, cap);
    *ret_len = 0;
    if (got < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : ERR_IO;
    *ret_len = (size_t)got;
    return 0;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
        return ERR_FORMAT;
    for (int i = 0; i < 6; i++) {
        if (v[i] > 255)
            return ERR_FORMAT;
        mac[i] = (uint8_t)v[i];
    }
    return 0;
}

int plat_net_open(struct net_link *ret_link, char *why, size_t why_cap)
{
    const char *name = getenv("LLM_TAP"), *mac = getenv("LLM_MAC");
    struct ifreq ifr;
    uint8_t addr[6] = {2, 0, 0, 0, 0, 1};

    if (!name || !*name) {
        snprintf(why, why_cap, "no network interface (set LLM_TAP to a TAP device)");
        return ERR_NOT_FOUND;
    }
    if (mac && parse_mac(mac, addr) != 0) {
        snprintf(why, why_cap, "LLM_MAC=%s is not a MAC address", mac);
        return ERR_INVAL;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, why_cap, "/dev/net/tun: %s", strerror(errno));
        return ERR_NOT_FOUND;
    }
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(why, why_cap, "TAP device %s: %s", name, strerror(errno));
        close(fd);
        return ERR_NOT_FOUND;
    }
    plat_net_close();
    tap_fd = fd;
    memset(ret_link, 0, sizeof *ret_link);
    memcpy(ret_link->mac, addr, 6);
    ret_link->send = tap_send;
    ret_link->recv = tap_recv;
    return 0;
}

void plat_net_close(void)
{
    if (tap_fd >= 0)
        close(tap_fd);
    tap_fd = -1;
}
