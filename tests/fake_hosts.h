/* Hosts for the unit tests, as facts (host/hostinfo.h): no /dev/kvm, bare-metal VMX and SVM,
 * nested, kvm_pvm, a device that is there but does not work. */
#ifndef KVMIO_TESTS_FAKE_HOSTS_H
#define KVMIO_TESTS_FAKE_HOSTS_H
#include "boot/hostinfo.h"

enum fake_host {
	FAKE_NO_KVM,          /* no /dev/kvm at all */
	FAKE_KVM_UNUSABLE,    /* /dev/kvm there, KVM_CREATE_VM refused (EPERM) */
	FAKE_BARE_VMX,        /* kvm_intel on an Intel machine */
	FAKE_BARE_SVM,        /* kvm_amd on an AMD machine */
	FAKE_NESTED_VMX,      /* kvm_intel inside a KVM guest (hypervisor bit, KVMKVMKVM) */
	FAKE_NESTED_SVM_HYPERV, /* kvm_amd inside a Hyper-V guest */
	FAKE_PVM,             /* kvm_pvm: no vmx/svm, a KVM guest itself */
	FAKE_OTHER,           /* usable, but no known module and no vmx/svm flag */
};

/* The facts of such a host (as host_facts_read_all would find them, QEMU 7.2 with OVMF). */
void fake_host_facts(enum fake_host which, struct host_facts *f);
/* Its KVM flavour. */
void fake_host_flavour(enum fake_host which, struct kvm_flavour *k);

#endif
