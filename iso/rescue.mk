# The rescue ISO (issue: a rescue-grade live system): build/rescue.iso, a Debian bookworm root from
# iso/rescue.packages (iso/debroot, cached under build/debroot/) with our stage 1/2, dhcpc, create, uml-run
# and the kernels' modules as the busybox root gets them (ROOT_INSTALL, ROOT_LINKS, ROOT_TREES), in the same
# ISO layout and boot setup as build/live.iso.  Not part of `make all`: `make rescue-iso`, `make run-rescue`.
#   RESCUE_PACKAGES  the package list (default iso/rescue.packages)
#   RESCUE_COMP      squashfs compression (default zstd; xz for the smaller, slower alternative)
RESCUE_PACKAGES ?= iso/rescue.packages
RESCUE_COMP     ?= zstd
RESCUE          := $(BUILD)/rescue

# The Debian root's path; iso/debroot returns at once when its cache entry exists.
$(RESCUE)/base.path: $(RESCUE_PACKAGES) iso/debroot scripts/apt-mirror
	@mkdir -p $(dir $@)
	iso/debroot --packages $(RESCUE_PACKAGES) > $@.tmp
	mv $@.tmp $@

# Our programs and the modules as in the busybox root; the busybox root's glibc runtimes for `create` and
# fuse2fs are not needed (Debian's own libc, bash, flock and uml-utilities are there; a merged /usr root has
# /lib as a link, which a copied /lib directory cannot replace), only the XSAVE helpers.
RESCUE_TREES = $(filter-out $(UML_RUNTIME):/ $(FUSE_RUNTIME):/,$(ROOT_TREES)) \
	$(if $(filter yes,$(LIVE_UML)),$(UML_RUNTIME)/usr/lib/liveinit:/usr/lib/liveinit)
RESCUE_DEPS  = $(filter-out iso/mkroot iso/root/%,$(ROOT_DEPS)) iso/mkrescue $(shell find iso/rescue -type f)

.SECONDEXPANSION:
$(RESCUE)/root.stamp: $(RESCUE)/base.path $$(RESCUE_DEPS)
	iso/mkrescue --base $$(cat $(RESCUE)/base.path) --out $(RESCUE)/root \
		$(foreach i,$(ROOT_INSTALL),--install $(i)) $(foreach l,$(ROOT_LINKS),--link $(l)) \
		$(foreach t,$(RESCUE_TREES),--tree $(t))
	touch $@

# No xattrs: they are only file capabilities (ping) that root does not need, and the UML kernel's squashfs
# cannot read them (it would print an error on every boot).
$(RESCUE)/root.squashfs: $(RESCUE)/root.stamp
	rm -f $@.tmp
	mksquashfs $(RESCUE)/root $@.tmp -comp $(RESCUE_COMP) -noappend -no-xattrs -quiet -no-progress
	mv $@.tmp $@

$(RESCUE)/iso.stamp: $(RESCUE)/root.squashfs $$(filter-out $(BUILD)/root.squashfs,$$(ISO_TREE_DEPS))
	$(call iso_tree,$(RESCUE)/root.squashfs,$(RESCUE)/iso)
	touch $@

$(RESCUE)/efi.img: $(EFI_DEPS) $(RESCUE)/iso.stamp
	$(call efi_image,$(RESCUE)/iso)

$(BUILD)/rescue.iso: $(RESCUE)/iso.stamp $(RESCUE)/efi.img $(ISOHYBRID_MBR)
	$(call iso_image,$(RESCUE)/iso,$(RESCUE)/efi.img)
	@echo "rescue.iso: $$(du -m $@ | cut -f1) MB ($(RESCUE_COMP) squashfs $$(du -m $(RESCUE)/root.squashfs | cut -f1) MB," \
		"$$(grep -c 'Status: install ok installed' $(RESCUE)/root/var/lib/dpkg/status) packages)"

.PHONY: rescue-iso run-rescue
rescue-iso: $(BUILD)/rescue.iso

run-rescue: deps
	$(MAKE) all rescue-iso
	scripts/uml-run mem=256M initrd=$(BUILD)/initrd.img root=/dev/ubda ubdar=$(BUILD)/rescue.iso uml
BENCH += tests/bench_rescue.py
