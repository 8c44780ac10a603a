/* net_snp.c - the NIC through the firmware's Simple Network Protocol, as a
 * struct net_link (net.h) for the project's own TCP/IP stack.
 *
 * The firmware's own network stack (MNP and above) opens SNP BY_DRIVER and
 * polls it, eating frames meant for us. Opening SNP EXCLUSIVE makes the
 * firmware stop those drivers first (UEFI spec, OpenProtocol), so the NIC
 * is ours alone. Then Start/Initialize, receive filters for our MAC and
 * broadcast, and polling: Receive returns EFI_NOT_READY when no frame is
 * waiting. One transmit is in flight at a time: its buffer belongs to the
 * NIC until GetStatus hands it back, so a send first waits (briefly) for
 * the previous one. Frames are padded to the Ethernet minimum of 60 bytes.
 * Everything runs on the boot processor from the event loop. */
#include <efi.h>
#include <efipciio.h>

#include "errors.h"
#include "lib.h"
#include "net.h"
#include "net_snp.h"

#define TX_WAIT_POLLS 100000 /* GetStatus calls before a stuck transmit is given up */
#define FRAME_MIN 60
#define FRAME_MAX 1514

static EFI_GUID snp_guid = EFI_SIMPLE_NETWORK_PROTOCOL_GUID;
static EFI_GUID pci_io_guid = EFI_PCI_IO_PROTOCOL_GUID;

static struct {
    EFI_SIMPLE_NETWORK_PROTOCOL *snp;
    EFI_HANDLE handle;
    int tx_busy;                   /* tx_frame is the NIC's until recycled */
    uint8_t tx_frame[FRAME_MAX + 2];
} nic;

/* 1 once the previous transmit buffer came back (or none was out). */
static int tx_recycled(void)
{
    for (int i = 0; nic.tx_busy && i < TX_WAIT_POLLS; i++) {
        void *done = NULL;
        UINT32 irq = 0;
        if (EFI_ERROR(nic.snp->GetStatus(nic.snp, &irq, &done)))
            return 0;
        if (done)
            nic.tx_busy = 0;
    }
    return !nic.tx_busy;
}

static int snp_send(void *ctx, const void *frame, size_t len)
{
    (void)ctx;
    if (len < 14 || len > FRAME_MAX)
        return ERR_INVAL;
    if (!tx_recycled())
        return ERR_AGAIN; /* dropped, like a busy wire: TCP retransmits */
    memcpy(nic.tx_frame, frame, len);
    if (len < FRAME_MIN) {
        memset(nic.tx_frame + len, 0, FRAME_MIN - len);
        len = FRAME_MIN;
    }
    EFI_STATUS st = nic.snp->Transmit(nic.snp, 0, len, nic.tx_frame, NULL, NULL, NULL);
    if (st == EFI_NOT_READY)
        return ERR_AGAIN;
    if (EFI_ERROR(st))
        return ERR_IO;
    nic.tx_busy = 1;
    return 0;
}

static int snp_recv(void *ctx, void *buf, size_t cap, size_t *ret_len)
{
    (void)ctx;
    UINTN size = cap;
    EFI_STATUS st = nic.snp->Receive(nic.snp, NULL, &size, buf, NULL, NULL, NULL);
    *ret_len = 0;
    if (st == EFI_NOT_READY)
        return 0;
    if (st == EFI_BUFFER_TOO_SMALL) {
        /* a frame larger than ours stays at the head of the queue: take it
         * into scratch space and drop it, or nothing behind it arrives */
        static uint8_t scratch[65536];
        size = sizeof scratch;
        nic.snp->Receive(nic.snp, NULL, &size, scratch, NULL, NULL, NULL);
        return 0;
    }
    if (EFI_ERROR(st))
        return ERR_IO;
    *ret_len = size;
    return 0;
}

/* Brings snp to the Initialized state. */
static EFI_STATUS snp_up(EFI_SIMPLE_NETWORK_PROTOCOL *snp)
{
    EFI_STATUS st = EFI_SUCCESS;
    if (snp->Mode->State == EfiSimpleNetworkStopped)
        st = snp->Start(snp);
    if (!EFI_ERROR(st) && snp->Mode->State == EfiSimpleNetworkStarted)
        st = snp->Initialize(snp, 0, 0);
    if (EFI_ERROR(st))
        return st;
    if (snp->Mode->State != EfiSimpleNetworkInitialized)
        return EFI_DEVICE_ERROR;
    UINT32 want = EFI_SIMPLE_NETWORK_RECEIVE_UNICAST | EFI_SIMPLE_NETWORK_RECEIVE_BROADCAST;
    return snp->ReceiveFilters(snp, want & snp->Mode->ReceiveFilterMask, 0, FALSE, 0, NULL);
}

/* A boot from disk may leave the NIC without its driver (the boot manager
 * connects only what booting needed): connect every PCI device's drivers. */
static void connect_pci(EFI_BOOT_SERVICES *bs)
{
    EFI_HANDLE *handles = NULL;
    UINTN count = 0;
    if (EFI_ERROR(bs->LocateHandleBuffer(ByProtocol, &pci_io_guid, NULL, &count, &handles)))
        return;
    for (UINTN i = 0; i < count; i++)
        bs->ConnectController(handles[i], NULL, NULL, TRUE);
    bs->FreePool(handles);
}

int net_snp_open(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, struct net_link *ret_link,
                 char *why, size_t why_cap)
{
    EFI_HANDLE *handles = NULL;
    UINTN count = 0;
    EFI_STATUS st = bs->LocateHandleBuffer(ByProtocol, &snp_guid, NULL, &count, &handles);
    int rc = ERR_NOT_FOUND;

    if (EFI_ERROR(st) || count == 0) {
        connect_pci(bs);
        st = bs->LocateHandleBuffer(ByProtocol, &snp_guid, NULL, &count, &handles);
    }
    if (EFI_ERROR(st) || count == 0) {
        str_copy(why, why_cap, "no network interface (Simple Network Protocol)");
        return ERR_NOT_FOUND;
    }
    for (UINTN i = 0; i < count && rc; i++) {
        EFI_SIMPLE_NETWORK_PROTOCOL *snp = NULL;
        st = bs->OpenProtocol(handles[i], &snp_guid, (void **)&snp, image, NULL,
                              EFI_OPEN_PROTOCOL_EXCLUSIVE);
        if (EFI_ERROR(st)) {
            fmt_snprintf(why, why_cap, "cannot take the network interface (EFI status %lx)",
                         (unsigned long)st);
            continue;
        }
        st = snp->Mode->IfType == 1 && snp->Mode->HwAddressSize == 6 ? snp_up(snp)
                                                                    : EFI_UNSUPPORTED;
        if (EFI_ERROR(st)) {
            fmt_snprintf(why, why_cap, "the network interface does not start (EFI status %lx)",
                         (unsigned long)st);
            bs->CloseProtocol(handles[i], &snp_guid, image, NULL);
            continue;
        }
        nic.snp = snp;
        nic.handle = handles[i];
        nic.tx_busy = 0;
        memset(ret_link, 0, sizeof *ret_link);
        memcpy(ret_link->mac, snp->Mode->CurrentAddress.Addr, 6);
        ret_link->send = snp_send;
        ret_link->recv = snp_recv;
        rc = 0;
    }
    bs->FreePool(handles);
    return rc;
}

void net_snp_close(void)
{
    if (nic.snp) {
        tx_recycled();
        nic.snp->Shutdown(nic.snp);
        nic.snp = NULL;
    }
}
