# The live root (build/rootfs/), its images, and the live ISO.
# Other fragments add to the root with:
#   ROOT_INSTALL += SRC:/DEST      (a file, mode 0755)
#   ROOT_LINKS   += /DEST:TARGET   (a symlink; later ones win over busybox's)
#   ROOT_TREES   += SRCDIR:/DEST   (a directory tree copied in)
#   ROOT_DEPS    += FILES          (rebuild the root when these change)
SQUASHFS_COMP ?= xz
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

# The ISO's tree: /live/filesystem.squashfs (Debian live's place) and its checksum for `check`.
ISO_TREE_DEPS += $(BUILD)/root.squashfs
$(BUILD)/iso.stamp: $$(ISO_TREE_DEPS)
	rm -rf $(BUILD)/iso && mkdir -p $(BUILD)/iso/live
	cp $(BUILD)/root.squashfs $(BUILD)/iso/live/filesystem.squashfs
	cd $(BUILD)/iso/live && sha256sum filesystem.squashfs > filesystem.squashfs.sha256
	touch $@

$(BUILD)/live.iso: $(BUILD)/iso.stamp
	xorriso -as mkisofs -quiet -V $(ISO_LABEL) -R -J -o $@.tmp $(BUILD)/iso
	mv $@.tmp $@

.PHONY: iso rootfs
iso: $(BUILD)/live.iso
rootfs: $(BUILD)/root.squashfs $(BUILD)/root.img
ALL += $(BUILD)/root.squashfs $(BUILD)/root.img $(BUILD)/live.iso
