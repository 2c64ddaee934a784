# Guest kernel: config fragments merged onto the arch defconfig, and the UML guest kernel.
#
#   make kernel-config [KSRC=DIR] [ARCH=um|x86] [KOUT=DIR] [KCONFIG_EXTRA=FRAGMENT...]
#       defconfig + common.config + um.config (um) or x86-xen.config (x86), olddefconfig, verify;
#       writes KOUT/.config (default build/kernel/ARCH/.config).  KSRC is never written.
#   make kernel
#       builds the UML guest kernel build/kernel/um/linux from Debian's linux-source-6.12.
#
# KSRC defaults to our own copy of linux-source-6.12, unpacked under build/src/ with the patches in
# kernel-config/patches/ applied (the host CPU workaround); `make kernel` always builds from that
# copy.  Both the copy and the kernel are keyed on a hash of their inputs (package version,
# patches, fragments), so they are redone only when an input changes.

KSRC_PKG       := linux-source-6.12
KSRC_TARBALL   := /usr/src/$(KSRC_PKG).tar.xz
KSRC_OWN       := $(BUILD)/src/$(KSRC_PKG)
KERNEL_PATCHES := $(sort $(wildcard kernel-config/patches/*.patch))
KSRC_PKGVER    := $(shell dpkg-query -W -f='$${Version}' $(KSRC_PKG) 2>/dev/null)
# Hash of what the source copy is made of: package version and patch contents.
KSRC_KEY       := $(shell { echo '$(KSRC_PKGVER)'; cat $(KERNEL_PATCHES) /dev/null; } | sha256sum | cut -c1-16)
KSRC_STAMP     := $(KSRC_OWN)/.liveinit-src-$(KSRC_KEY)

KSRC           ?= $(KSRC_OWN)
ARCH           ?= um
KOUT           ?= $(BUILD)/kernel/$(ARCH)
KCONFIG_ARCH_FRAGMENT_um  := kernel-config/um.config
KCONFIG_ARCH_FRAGMENT_x86 := kernel-config/x86-xen.config
KCONFIG_FRAGMENTS = kernel-config/common.config $(KCONFIG_ARCH_FRAGMENT_$(ARCH)) $(KCONFIG_EXTRA)

KERNEL_UM_DIR   := $(BUILD)/kernel/um
KERNEL_UM       := $(KERNEL_UM_DIR)/linux
KERNEL_UM_FRAGS := kernel-config/common.config kernel-config/um.config
KERNEL_UM_KEY   := $(shell cat $(KERNEL_UM_FRAGS) | sha256sum | cut -c1-16)-$(KSRC_KEY)
KERNEL_UM_STAMP := $(KERNEL_UM_DIR)/.liveinit-kernel-$(KERNEL_UM_KEY)

.PHONY: kernel-config kernel kernel-source

kernel-source: $(KSRC_STAMP)

# Unpack the package's tarball and apply our patches: a fresh copy whenever the key changes.
# --touch: files keep the archive's old mtimes otherwise, and kbuild would take the objects left in
# build/kernel/um/ from the previous source for up to date.
$(KSRC_STAMP):
	@test -r $(KSRC_TARBALL) || { echo "kernel-config: $(KSRC_TARBALL) missing: run scripts/deps (apt-get install $(KSRC_PKG))" >&2; exit 1; }
	rm -rf $(KSRC_OWN)
	mkdir -p $(dir $(KSRC_OWN))
	tar -xJf $(KSRC_TARBALL) --touch -C $(dir $(KSRC_OWN))
	set -e; for p in $(abspath $(KERNEL_PATCHES)); do \
		echo "patching $(KSRC_OWN) with $$p"; patch -d $(KSRC_OWN) -p1 --batch --forward --quiet < $$p; \
	done
	touch $@

kernel-config: $(if $(filter $(KSRC_OWN),$(KSRC)),$(KSRC_STAMP))
	@test -n "$(KCONFIG_ARCH_FRAGMENT_$(ARCH))" || { echo "kernel-config: ARCH=$(ARCH): use ARCH=um or ARCH=x86" >&2; exit 2; }
	@# A config written here by hand must not be taken for the one `make kernel` built with.
	rm -f $(KOUT)/.liveinit-kernel-*
	kernel-config/mkconfig $(KSRC) $(ARCH) $(KOUT) $(KCONFIG_FRAGMENTS)

kernel: $(KERNEL_UM_STAMP)

# Only the `linux` binary: everything the guest needs is built in, no modules are installed.
$(KERNEL_UM_STAMP): $(KSRC_STAMP)
	rm -f $(KERNEL_UM_DIR)/.liveinit-kernel-*
	kernel-config/mkconfig $(KSRC_OWN) um $(KERNEL_UM_DIR) $(KERNEL_UM_FRAGS)
	$(MAKE) -C $(KSRC_OWN) O=$(abspath $(KERNEL_UM_DIR)) ARCH=um -j2 linux
	touch $@
