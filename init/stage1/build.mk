# Stage 1: /init of the initrd.
STAGE1_SRCS := $(wildcard init/stage1/*.c) init/common/cmdline.c init/common/config.c init/common/platform.c init/common/log.c \
	init/common/moddep.c init/common/probe.c init/common/sha256.c init/common/fileio.c init/common/fileread.c init/common/clock.c \
	init/common/modload.c init/common/spawn.c init/common/apimounts.c init/common/netif.c init/common/mountinfo.c \
	init/common/sha512.c init/common/shadow.c \
	init/common/coldplug.c init/common/select.c init/common/steptime.c init/common/uevent.c \
	init/common/url.c init/common/http.c init/common/dns.c \
	$(patsubst %,init/dhcp/%.c,packet netlink arp lease iface ipconfig sock timing client)
STAGE1_OBJS := $(patsubst init/%.c,$(BUILD)/obj/%.o,$(STAGE1_SRCS))

$(BUILD)/bin/init: $(STAGE1_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/init

# Unit test of switch_root(): run for real as PID 1 of a private PID + mount namespace (needs root), host gcc
# with ASan/UBSan like the other unit tests.
$(BUILD)/hostobj/stage1/switchroot_asan.o: init/stage1/switchroot.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_switchroot: tests/unit/test_switchroot.c $(BUILD)/hostobj/stage1/switchroot_asan.o \
		$(BUILD)/hostobj/stage1/util_asan.o $(BUILD)/hostobj/common/fileio_asan.o $(BUILD)/hostobj/common/clock_asan.o \
		$(BUILD)/hostobj/stage1/steps_asan.o $(BUILD)/hostobj/common/steptime_asan.o $(BUILD)/hostobj/common/log_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $(filter %.c %.o,$^) -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_switchroot

# persistence.conf parser: host gcc with ASan/UBSan (PROBE_SAN, init/common/build.mk).
$(BUILD)/hostobj/stage1/persistconf_asan.o: init/stage1/persistconf.c init/stage1/persistconf.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_persistconf: tests/unit/test_persistconf.c $(BUILD)/hostobj/stage1/persistconf_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_persistconf
BENCH += tests/bench_live.py

# Host driver for tests/test_adapt.py: the root adaptation (adapt.c, stage2root.c) on fixture trees.
ADAPT_RUN_SRCS := init/stage1/adapt.c init/stage1/rootedit.c init/stage1/stage2root.c init/stage1/util.c \
	init/common/cmdline.c init/common/platform.c init/common/shadow.c init/common/sha512.c init/common/fileio.c \
	init/common/fileread.c
$(BUILD)/tests/adapt_run: tests/unit/adapt_run.c $(patsubst init/%.c,$(BUILD)/hostobj/%.o,$(ADAPT_RUN_SRCS))
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -o $@ $(filter %.c %.o,$^)
ALL += $(BUILD)/tests/adapt_run
BENCH += tests/bench_foreign.py
