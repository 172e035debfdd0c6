/* Hosts for the unit tests (fake_hosts.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "fake_hosts.h"

void fake_host_facts(enum fake_host which, struct host_facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->kvm_path, sizeof(f->kvm_path), "/dev/kvm");
	f->all_read = 1;
	snprintf(f->qemu, sizeof(f->qemu), "qemu-system-x86_64");
	snprintf(f->qemu_version, sizeof(f->qemu_version), "QEMU emulator version 7.2.22");
	f->qemu_kvm = f->qemu_tcg = 1;
	snprintf(f->ovmf_code, sizeof(f->ovmf_code), "/usr/share/OVMF/OVMF_CODE_4M.fd");
	f->net_tun = f->netns = f->io_uring = 1;
	f->kvm_api = -1;
	f->kvm_vm_errno = -1;
	if (which == FAKE_NO_KVM)
		return;
	f->kvm_exists = 1;
	f->kvm_api = 12;
	f->kvm_vm_errno = 0;
	f->mod_kvm = 1;
	switch (which) {
	case FAKE_KVM_UNUSABLE:
		f->kvm_vm_errno = EPERM;
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		break;
	case FAKE_BARE_VMX:
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		snprintf(f->nested, sizeof(f->nested), "Y");
		break;
	case FAKE_BARE_SVM:
		f->mod_kvm_amd = 1;
		f->flag_svm = 1;
		snprintf(f->nested, sizeof(f->nested), "1");
		break;
	case FAKE_NESTED_VMX:
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "KVMKVMKVM");
		snprintf(f->nested, sizeof(f->nested), "N");
		break;
	case FAKE_NESTED_SVM_HYPERV:
		f->mod_kvm_amd = 1;
		f->flag_svm = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "Microsoft Hv");
		break;
	case FAKE_PVM:
		f->mod_kvm_pvm = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "KVMKVMKVM");
		break;
	case FAKE_OTHER:
	default:
		break;
	}
}

void fake_host_flavour(enum fake_host which, struct kvm_flavour *k)
{
	struct host_facts f;

	fake_host_facts(which, &f);
	host_kvm_flavour(&f, k);
}
