#!/usr/bin/env bash
# Install the Debian packages kvmio needs, only those missing. Needs root for apt-get.
set -euo pipefail
pkgs=(make gcc binutils git clang libclang-rt-14-dev qemu-system-x86 qemu-utils ovmf gnu-efi
      mtools libcmocka-dev socat iputils-ping iproute2 libinih-dev libjansson-dev nettle-dev gnuplot-nox chromium
      grub-pc-bin grub-efi-amd64-bin dosfstools fdisk
      libvirt-dev libvirt-daemon libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients
      openssh-server openssh-client netcat-openbsd util-linux)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "kvmio: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "kvmio: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
