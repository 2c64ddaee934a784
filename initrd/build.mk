# The initrd: stage 1 + busybox + the modules stage 1 needs for the target kernel (KVER/KMODDIR).
BUSYBOX      ?= /bin/busybox
# Modules stage 1 may need on UML: the loop driver and the filesystems of the live medium.
INITRD_MODULES ?= overlay loop squashfs isofs

$(BUILD)/initrd.img: initrd/mkinitrd $(BUILD)/bin/init $(BUILD)/bin/liveinit-moddep $(KMODDIR)/modules.dep
	initrd/mkinitrd --out $@ --init $(BUILD)/bin/init --busybox $(BUSYBOX) --moddep $(BUILD)/bin/liveinit-moddep \
		--kmoddir $(KMODDIR) --kver $(KVER) $(INITRD_MODULES)

# No modules at all: for kernels with everything built in (kernel-config/).
$(BUILD)/initrd-nomod.img: initrd/mkinitrd $(BUILD)/bin/init
	initrd/mkinitrd --out $@ --init $(BUILD)/bin/init --busybox $(BUSYBOX)

.PHONY: initrd
initrd: $(BUILD)/initrd.img
ALL += $(BUILD)/initrd.img
BENCH += tests/bench_stage1.py
