# The initrd: stage 1 + busybox + the modules stage 1 needs for the target kernel (KVER/KMODDIR).
BUSYBOX      ?= /bin/busybox
# Modules stage 1 may need on UML: the loop driver and the filesystems of the live medium.
INITRD_MODULES ?= overlay loop squashfs isofs +vfat +nls_cp437 +nls_ascii +nls_iso8859-1 +nls_utf8

# Stage 2 and the DHCP client ride along in /lib/liveinit for liveinit.stage2 on a foreign root (~150 KB).
INITRD_CARRY := $(BUILD)/bin/liveinit $(BUILD)/bin/dhcpc

$(BUILD)/initrd.img: initrd/mkinitrd initrd/strip-modules initrd/build.mk $(BUILD)/bin/init $(BUILD)/bin/liveinit-moddep \
		$(KMODDIR)/modules.dep $(INITRD_CARRY)
	initrd/mkinitrd --out $@ --init $(BUILD)/bin/init --busybox $(BUSYBOX) --moddep $(BUILD)/bin/liveinit-moddep \
		$(INITRD_CARRY:%=--carry %) \
		--kmoddir $(KMODDIR) --kver $(KVER) $(INITRD_MODULES)

# No modules at all: for kernels with everything built in (kernel-config/).
$(BUILD)/initrd-nomod.img: initrd/mkinitrd $(BUILD)/bin/init
	initrd/mkinitrd --out $@ --init $(BUILD)/bin/init --busybox $(BUSYBOX)

.PHONY: initrd
initrd: $(BUILD)/initrd.img
ALL += $(BUILD)/initrd.img
BENCH += tests/bench_stage1.py tests/bench_netboot.py

# PC boots (ISO in qemu or on metal): Debian's amd64 kernel, the signed flavour (for UEFI Secure Boot: shim and
# Debian's signed GRUB start it; its modules are the same as the -unsigned package's, signed by the kernel's
# build key), unpacked once under build/pc/<package>_<version>/ (initrd/fetch-pc-kernel runs depmod: the package
# ships no modules.dep), and an initrd built for it by the same mkinitrd.  Stage 1 loads all of PC_INITRD_MODULES at start ('?' = optional), then scans for the medium;
# '+' ones only when it needs them (ext4: a root= disk or a COW image, its crc32c comes along; a NIC: fetch=).
PC_KPKG    ?= linux-image-6.1.0-50-amd64
PC_KVER    ?= $(patsubst linux-image-%,%,$(PC_KPKG:%-unsigned=%))
PC_DIR     := $(BUILD)/pc
PC_KSTAMP  := $(PC_DIR)/$(PC_KPKG).stamp
PC_KMODDIR := $(PC_DIR)/modules
# The PC initrd's compression (mkinitrd --compress): zstd, measured against gzip and xz by tests/bench_speed.py
# (README "Where did the boot go?"): 21 % smaller than gzip -9 for about the same unpack time under qemu TCG;
# xz is 28 % smaller but the kernel unpacks it 3 to 4 times slower than gzip there.
PC_INITRD_COMP ?= zstd
PC_INITRD_MODULES ?= loop squashfs isofs overlay cdrom sr_mod sd_mod \
	ata_piix ata_generic ahci virtio_pci virtio_blk virtio_scsi ?xen-blkfront \
	?usb-storage ?uas ?xhci_pci ?ehci_pci ?uhci_hcd ?ohci_pci \
	+ext4 +crc32c_generic +vfat +nls_cp437 +nls_ascii +nls_iso8859-1 +nls_utf8 \
	$(PC_NIC_MODULES)
# The NICs a PXE client boots from (fetch=): packed, loaded by modalias only when stage 1 needs the network
# (modules_network: the driver of the NIC present; in a Xen domU only xen-netfront).  virtio_net, Intel's
# e1000/e1000e/igb, Realtek's r8169 and 8139too/8139cp (qemu's rtl8139), Broadcom's tg3 and bnx2 (which also
# want firmware from /lib/firmware, not packed: bnx2 needs it, tg3 only on some chips), VMware's vmxnet3.
PC_NIC_MODULES ?= +virtio_net +e1000 +e1000e +igb +r8169 +8139too +8139cp +tg3 +bnx2 +vmxnet3 +xen-netfront

$(PC_KSTAMP): initrd/fetch-pc-kernel
	initrd/fetch-pc-kernel $(PC_KPKG) $(PC_KVER) $(PC_DIR)
	touch $@

$(PC_DIR)/initrd.img: initrd/mkinitrd initrd/strip-modules initrd/build.mk $(BUILD)/bin/init $(BUILD)/bin/liveinit-moddep \
		$(PC_KSTAMP) $(INITRD_CARRY)
	initrd/mkinitrd --out $@ --init $(BUILD)/bin/init --busybox $(BUSYBOX) --moddep $(BUILD)/bin/liveinit-moddep \
		$(INITRD_CARRY:%=--carry %) \
		--kmoddir $(PC_KMODDIR) --kver $(PC_KVER) --compress $(PC_INITRD_COMP) $(PC_INITRD_MODULES)

.PHONY: pc-kernel pc-initrd
pc-kernel: $(PC_KSTAMP)
pc-initrd: $(PC_DIR)/initrd.img
ALL += $(PC_DIR)/initrd.img
