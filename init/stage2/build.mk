# Stage 2 (PID 1 of the live root) and the multi-call binary build/bin/liveinit:
# init, poweroff, halt, reboot, shutdown, mkfstab (see init/main.c).

STAGE2_SRCS   := init/main.c $(wildcard init/stage2/*.c)
STAGE2_COMMON := init/common/log.c init/common/cmdline.c init/common/config.c init/common/platform.c init/common/probe.c \
	init/common/mountinfo.c init/common/coldplug.c init/common/moddep.c init/common/fileio.c init/common/fileread.c init/common/clock.c \
	init/common/modload.c init/common/pidfile.c init/common/spawn.c init/common/apimounts.c init/common/netif.c
STAGE2_OBJS   := $(patsubst init/%.c,$(BUILD)/obj/%.o,$(STAGE2_SRCS) $(STAGE2_COMMON))

$(BUILD)/bin/liveinit: $(STAGE2_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/liveinit

# In the live root (iso/build.mk assembles it): /sbin/liveinit, and the names it answers to; these links win
# over busybox's init, poweroff, halt and reboot.
ROOT_INSTALL += $(BUILD)/bin/liveinit:/sbin/liveinit
ROOT_LINKS   += /sbin/init:liveinit /sbin/poweroff:liveinit /sbin/halt:liveinit /sbin/reboot:liveinit \
	/sbin/shutdown:liveinit /sbin/mkfstab:liveinit
ROOT_DEPS    += $(BUILD)/bin/liveinit

# Unit tests: cmocka, host gcc, against host objects of the code under test.
STAGE2_HOBJ = $(patsubst init/%.c,$(BUILD)/hostobj/%.o,$(1))
STAGE2_TEST_LIBS := -lcmocka

STAGE2_UT_COMMON := init/common/fileio.c init/common/fileread.c init/common/clock.c init/common/pidfile.c init/common/spawn.c \
	init/common/apimounts.c \
	init/common/netif.c
$(BUILD)/tests/test_mountinfo: tests/unit/stage2/test_mountinfo.c $(call STAGE2_HOBJ,init/common/mountinfo.c)
$(BUILD)/tests/test_fstab: tests/unit/stage2/test_fstab.c \
	$(call STAGE2_HOBJ,init/stage2/fstab.c init/common/mountinfo.c init/common/probe.c init/common/fileio.c \
		init/common/fileread.c)
$(BUILD)/tests/test_shutdown: tests/unit/stage2/test_shutdown.c \
	$(call STAGE2_HOBJ,init/stage2/shutdown.c init/stage2/flush.c init/stage2/exitrd.c init/stage2/swap.c \
		init/stage2/network.c init/stage2/fstab.c init/common/mountinfo.c init/common/log.c init/common/probe.c \
		$(STAGE2_UT_COMMON))
$(BUILD)/tests/test_stage2_misc: tests/unit/stage2/test_stage2_misc.c \
	$(call STAGE2_HOBJ,init/stage2/console.c init/stage2/signals.c init/stage2/swap.c init/stage2/network.c \
		init/stage2/shutdown.c init/stage2/flush.c init/stage2/exitrd.c init/stage2/fstab.c init/common/mountinfo.c \
		init/common/log.c init/common/probe.c $(STAGE2_UT_COMMON))

STAGE2_TESTS := $(BUILD)/tests/test_mountinfo $(BUILD)/tests/test_fstab $(BUILD)/tests/test_shutdown \
	$(BUILD)/tests/test_stage2_misc

$(STAGE2_TESTS):
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $^ $(STAGE2_TEST_LIBS)

UNIT_TESTS += $(STAGE2_TESTS)

BENCH += tests/bench_stage2.py

-include $(wildcard $(BUILD)/tests/test_*.d)

# A FUSE filesystem in the live root, with the C library it needs (staged like the UML runtime): fuse2fs opens
# an ext2/3/4 image or disk without the kernel driver; the shutdown tests use it as the FUSE daemon that must
# outlive its filesystem (it writes its caches back at unmount).
FUSE_RUNTIME := $(BUILD)/fuse-runtime
$(FUSE_RUNTIME).stamp: scripts/uml-runtime /usr/bin/fuse2fs
	scripts/uml-runtime --out $(FUSE_RUNTIME) /usr/bin/fuse2fs
	touch $@
ROOT_TREES += $(FUSE_RUNTIME):/
ROOT_DEPS  += $(FUSE_RUNTIME).stamp
BENCH += tests/bench_shutdown.py
