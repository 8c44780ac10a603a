/* net_snp.h - the UEFI network device (net_snp.c). UEFI build only:
 * platform_efi.c calls it for plat_net_open. */
#ifndef NET_SNP_H
#define NET_SNP_H

#include <efi.h>
#include <stddef.h>

struct net_link;

/* Takes the first Ethernet NIC's Simple Network Protocol exclusively (the
 * firmware's own network drivers on it are stopped), starts it and fills
 * *ret_link. ERR_NOT_FOUND when there is no usable NIC; why (why_cap
 * bytes) then says what was found. */
int net_snp_open(EFI_HANDLE image, EFI_BOOT_SERVICES *bs, struct net_link *ret_link,
                 char *why, size_t why_cap);
/* Shuts the NIC down (on the way out). */
void net_snp_close(void);

#endif
