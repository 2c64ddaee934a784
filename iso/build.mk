# The live root (build/rootfs/), its images, and the live ISO.
# Other fragments add to the root with:
#   ROOT_INSTALL += SRC:/DEST      (a file, mode 0755)
#   ROOT_LINKS   += /DEST:TARGET   (a symlink; later ones win over busybox's)
#   ROOT_TREES   += SRCDIR:/DEST   (a directory tree copied in)
#   ROOT_DEPS    += FILES          (rebuild the root when these change)
SQUASHFS_COMP ?= zstd
ISO_LABEL     := LIVEINIT
ROOT_DEPS     += iso/mkroot $(shell find iso/root -type f)

.SECONDEXPANSION:
$(BUILD)/rootfs.stamp: $$(ROOT_DEPS) $(BUSYBOX)
	iso/mkroot --out $(BUILD)/rootfs --busybox $(BUSYBOX) --version $(VERSION) \
		$(foreach i,$(ROOT_INSTALL),--install $(i)) $(foreach l,$(ROOT_LINKS),--link $(l)) \
		$(foreach t,$(ROOT_TREES),--tree $(t))
	touch $@

$(BUILD)/root.squashfs: $(BUILD)/rootfs.stamp
	rm -f $@.tmp
	mksquashfs $(BUILD)/rootfs $@.tmp -comp $(SQUASHFS_COMP) -noappend -all-root -quiet -no-progress
	mv $@.tmp $@

# An ext4 image of the same root, for COW-mode boots: ubda=COWFILE,build/root.img
$(BUILD)/root.img: $(BUILD)/rootfs.stamp
	rm -f $@.tmp
	size=$$(( $$(du -sm $(BUILD)/rootfs | cut -f1) + 48 )); \
	mkfs.ext4 -q -F -L liveroot -E root_owner=0:0 -d $(BUILD)/rootfs $@.tmp $${size}M
	mv $@.tmp $@

# The live root carries the modules of the kernels it boots with, debug info stripped, with depmod's
# modules.alias for coldplug: all of the UML kernel's, and the PC kernel's drivers a PC, qemu or Xen guest
# may need (PC_ROOT_MODULES: prefixes under its module directory; wireless NICs left out: no firmware here).
# crypto: ext4 with metadata checksums (mkfs.ext4's default) needs crc32c from it, or the mount fails.
UML_KMODDIR ?= /usr/lib/uml/modules/$(UML_KVER)
PC_ROOT_MODULES ?= drivers/net drivers/block drivers/ata drivers/scsi drivers/virtio drivers/cdrom \
	drivers/usb drivers/hid drivers/input drivers/xen drivers/nvme drivers/char/hw_random \
	fs net/bridge net/packet net/8021q crypto arch/x86/crypto
PC_ROOT_SKIP    ?= drivers/net/wireless
$(BUILD)/rootmods/uml.stamp: iso/modtree initrd/strip-modules $(UML_KMODDIR)/modules.dep
	iso/modtree --src $(UML_KMODDIR) --release $(UML_KVER) --out $(BUILD)/rootmods/uml
	touch $@
$(BUILD)/rootmods/pc.stamp: iso/modtree iso/build.mk initrd/strip-modules $(PC_KSTAMP)
	iso/modtree --src $(PC_KMODDIR) --release $(PC_KVER) --out $(BUILD)/rootmods/pc \
		$(foreach d,$(PC_ROOT_MODULES),--only kernel/$(d)) $(foreach d,$(PC_ROOT_SKIP),--skip kernel/$(d))
	touch $@
ROOT_DEPS  += $(BUILD)/rootmods/uml.stamp $(BUILD)/rootmods/pc.stamp
ROOT_TREES += $(BUILD)/rootmods/uml/lib/modules/$(UML_KVER):/lib/modules/$(UML_KVER) \
	$(BUILD)/rootmods/pc/lib/modules/$(PC_KVER):/lib/modules/$(PC_KVER)

# The ISO's tree:
#   /live/filesystem.squashfs (Debian live's place) and its checksum for `check`
#   /boot/vmlinuz, /boot/initrd.img   the PC kernel and its initrd
#   /isolinux/                        isolinux (BIOS boot from CD, and from USB via the hybrid MBR)
#   /boot/grub/grub.cfg               the UEFI menu (GRUB)
#   /.disk/info, /.disk/id/ID         what GRUB finds the medium by: ID is unique to this build (see efi.img)
#   /uml/linux, /uml/initrd.img       the UML kernel and its initrd: a running live system starts guests of itself
ISOLINUX_BIN ?= /usr/lib/ISOLINUX/isolinux.bin
ISOHYBRID_MBR ?= /usr/lib/ISOLINUX/isohdpfx.bin
LDLINUX_C32  ?= /usr/lib/syslinux/modules/bios/ldlinux.c32
ISO_TREE_DEPS += $(BUILD)/root.squashfs $(PC_KSTAMP) $(PC_DIR)/initrd.img $(BUILD)/initrd.img $(UML_LINUX) \
	iso/isolinux.cfg $(ISOLINUX_BIN) $(LDLINUX_C32) iso/grub.cfg
$(BUILD)/iso.stamp: $$(ISO_TREE_DEPS)
	rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/live $(BUILD)/iso/boot/grub $(BUILD)/iso/isolinux $(BUILD)/iso/uml \
		$(BUILD)/iso/.disk
	cp $(BUILD)/root.squashfs $(BUILD)/iso/live/filesystem.squashfs
	cd $(BUILD)/iso/live && sha256sum filesystem.squashfs > filesystem.squashfs.sha256
	cp -L $(PC_DIR)/vmlinuz $(BUILD)/iso/boot/vmlinuz
	cp $(PC_DIR)/initrd.img $(BUILD)/iso/boot/initrd.img
	cp $(ISOLINUX_BIN) $(LDLINUX_C32) iso/isolinux.cfg $(BUILD)/iso/isolinux/
	cp iso/grub.cfg $(BUILD)/iso/boot/grub/grub.cfg
	echo "liveinit $(VERSION) live system" > $(BUILD)/iso/.disk/info
	mkdir -p $(BUILD)/iso/.disk/id && touch $(BUILD)/iso/.disk/id/liveinit-$$(cut -c1-16 \
		$(BUILD)/iso/live/filesystem.squashfs.sha256)
	cp $(UML_LINUX) $(BUILD)/iso/uml/linux
	cp $(BUILD)/initrd.img $(BUILD)/iso/uml/initrd.img
	touch $@

# The EFI system partition (FAT): the removable-media boot path EFI/BOOT/BOOTX64.EFI is Debian's signed shim,
# which starts the signed GRUB next to it (grubx64.efi; gcdx64 is Debian's build of it for CDs) and MokManager
# when asked.  The same chain boots with Secure Boot off and on (Microsoft's UEFI CA signs shim, Debian's key
# GRUB and the kernel), so no keys of our own are involved.  GRUB reads /boot/grub/grub.cfg here first
# (iso/grub-esp.cfg): it finds the ISO by its /.disk/id/ file and reads the menu from there.
EFI_SHIM ?= /usr/lib/shim/shimx64.efi.signed
EFI_MM   ?= /usr/lib/shim/mmx64.efi.signed
EFI_GRUB ?= /usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed
$(BUILD)/efi.img: $(EFI_SHIM) $(EFI_MM) $(EFI_GRUB) iso/grub-esp.cfg $(BUILD)/iso.stamp
	rm -f $@.tmp
	kib=$$(( ( $$(cat $(EFI_SHIM) $(EFI_MM) $(EFI_GRUB) | wc -c) / 1024 ) + 512 )); \
		mkfs.fat -C -n EFIBOOT $@.tmp $$kib >/dev/null
	id=$$(ls $(BUILD)/iso/.disk/id/) && sed "s/@ID@/$$id/" iso/grub-esp.cfg > $(BUILD)/grub-esp.cfg
	mmd -i $@.tmp ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
	mcopy -i $@.tmp $(EFI_SHIM) ::/EFI/BOOT/BOOTX64.EFI
	mcopy -i $@.tmp $(EFI_GRUB) ::/EFI/BOOT/grubx64.efi
	mcopy -i $@.tmp $(EFI_MM) ::/EFI/BOOT/mmx64.efi
	mcopy -i $@.tmp $(BUILD)/grub-esp.cfg ::/boot/grub/grub.cfg
	mv $@.tmp $@

# Hybrid, for CD and USB stick, BIOS and UEFI:
#   El Torito: isolinux (BIOS) and the EFI system partition (UEFI) as the second boot image;
#   MBR (isohdpfx) for BIOS from a USB stick, and a GPT beside it (-isohybrid-gpt-basdat) whose second
#   partition is the same EFI system partition, appended after the ISO 9660 tree (UEFI from a USB stick).
$(BUILD)/live.iso: $(BUILD)/iso.stamp $(BUILD)/efi.img $(ISOHYBRID_MBR)
	xorriso -as mkisofs -quiet -V $(ISO_LABEL) -R -J -isohybrid-mbr $(ISOHYBRID_MBR) \
		-c boot/boot.cat -b isolinux/isolinux.bin -no-emul-boot -boot-load-size 4 -boot-info-table \
		-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat \
		-append_partition 2 0xef $(BUILD)/efi.img \
		-o $@.tmp $(BUILD)/iso
	mv $@.tmp $@

.PHONY: iso rootfs
iso: $(BUILD)/live.iso
rootfs: $(BUILD)/root.squashfs $(BUILD)/root.img
ALL += $(BUILD)/root.squashfs $(BUILD)/root.img $(BUILD)/live.iso
BENCH += tests/bench_iso.py
