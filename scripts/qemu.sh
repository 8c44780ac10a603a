#!/bin/bash
# qemu.sh IMG [extra qemu args] - boot a disk image with QEMU + OVMF.
#
# Interactive by default: -nographic puts the serial console (which OVMF's
# ConOut/ConIn use) on this terminal; Ctrl-A X quits QEMU.
#
# Environment:
#   MEM=1024 SMP=2       guest memory (MiB) and CPUs
#   QEMU_SERIAL=spec     headless: -display none -monitor none -serial spec
#                        (e.g. file:out.log, or chardev:ID with -chardev in args)
#   DISK=virtio|ahci|usb how the image is attached (default virtio)
#   DISK_RO=1            attach it read-only (a locked stick: the firmware
#                        reports write-protected media); not with ahci
#   KVM=auto|0|1         KVM when usable (probed), else TCG with -cpu max
#   TCG_THREAD=multi|single  TCG's vCPU threading (QEMU's default when unset)
#   VARS=path            writable OVMF vars copy (default: beside IMG, fresh per run)
#   OVMF_DEBUG=path      OVMF debug port (0x402) output to a file
#   NET_PORT=8080        a virtio NIC (user network, restricted), guest port
#                        8080 forwarded from 127.0.0.1:NET_PORT (the HTTP API)
#   QEMU_DRY_RUN=1       print the command instead of running it
# The process execs into QEMU, so its pid is QEMU's (tests kill it by pid).
set -eu

[ $# -ge 1 ] || { echo "usage: scripts/qemu.sh IMG [qemu args...]" >&2; exit 2; }
img=$1; shift
[ -f "$img" ] || { echo "qemu.sh: $img not found (run: make image)" >&2; exit 1; }

code=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
vars_src=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
for f in "$code" "$vars_src"; do
    [ -f "$f" ] || { echo "qemu.sh: $f missing (apt-get install ovmf)" >&2; exit 1; }
done
# A fresh vars copy per run: boot entries a previous run wrote can't leak in.
img_base=$(basename "$img"); img_base=${img_base%.*}
vars=${VARS:-$(dirname "$img")/$img_base.vars.fd}
cp -f "$vars_src" "$vars"

# QEMU option values escape ',' as ',,'.
qimg=${img//,/,,} qcode=${code//,/,,} qvars=${vars//,/,,}

# /dev/kvm may exist yet be unusable (nested virtualization: QEMU aborts
# setting MSRs), so probe by creating the same machine paused and quitting.
kvm_usable() {
    [ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
    ( printf 'quit\n' | timeout 10 qemu-system-x86_64 -accel kvm -machine q35 \
        -cpu host -nodefaults -display none -S -monitor stdio ) >/dev/null 2>&1
}
accel=(-accel "tcg${TCG_THREAD:+,thread=$TCG_THREAD}" -cpu max)
accel_name=TCG
case ${KVM:-auto} in
    1) accel=(-accel kvm -cpu host); accel_name=KVM ;;
    0) ;;
    *) if kvm_usable; then accel=(-accel kvm -cpu host); accel_name=KVM; fi ;;
esac

ro=
[ "${DISK_RO:-0}" = 1 ] && ro=,readonly=on
# shellcheck disable=SC2054  # commas are inside QEMU option values
case ${DISK:-virtio} in
    virtio) disk=(-drive "if=none,id=disk0,format=raw,file=$qimg$ro"
                  -device virtio-blk-pci,drive=disk0,bootindex=1) ;;
    ahci)   [ -z "$ro" ] || { echo "qemu.sh: DISK_RO=1 needs DISK=virtio or usb (IDE has no read-only disks)" >&2; exit 2; }
            disk=(-drive "if=none,id=disk0,format=raw,file=$qimg"
                  -device ide-hd,drive=disk0,bus=ide.0,bootindex=1) ;;
    usb)    disk=(-drive "if=none,id=disk0,format=raw,file=$qimg$ro"
                  -device qemu-xhci,id=xhci
                  -device usb-storage,bus=xhci.0,drive=disk0,bootindex=1) ;;
    *) echo "qemu.sh: DISK must be virtio, ahci or usb" >&2; exit 2 ;;
esac

if [ -n "${QEMU_SERIAL:-}" ]; then
    console=(-display none -monitor none -serial "$QEMU_SERIAL")
else
    console=(-nographic)
fi
# No display adapter: OVMF would otherwise draw every line on the emulated
# VGA too, which makes console output several times slower under TCG.
console+=(-vga none)
# NET_PORT=8080: a virtio NIC on QEMU's user network (restricted: the guest
# reaches nothing outside), its port 8080 forwarded from 127.0.0.1:NET_PORT,
# so `curl http://127.0.0.1:NET_PORT/health` reaches the app's HTTP API.
net=(-net none)
[ -n "${NET_PORT:-}" ] && net=(-netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$NET_PORT-:8080"
                              -device virtio-net-pci,netdev=n0,romfile=)
debug=()
[ -n "${OVMF_DEBUG:-}" ] && debug=(-debugcon "file:$OVMF_DEBUG" -global isa-debugcon.iobase=0x402)

cmd=(qemu-system-x86_64 -machine q35 "${accel[@]}"
     -m "${MEM:-1024}" -smp "${SMP:-2}"
     -drive "if=pflash,format=raw,unit=0,readonly=on,file=$qcode"
     -drive "if=pflash,format=raw,unit=1,file=$qvars"
     "${disk[@]}" "${net[@]}" -no-reboot
     "${console[@]}" ${debug[@]+"${debug[@]}"} "$@")

if [ "${QEMU_DRY_RUN:-0}" = 1 ]; then
    printf '%q ' "${cmd[@]}"; echo
    exit 0
fi
[ -z "${QEMU_SERIAL:-}" ] && echo "qemu.sh: booting $img ($accel_name); Ctrl-A X quits" >&2
exec "${cmd[@]}"
