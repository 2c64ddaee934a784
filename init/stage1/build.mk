# Stage 1: /init of the initrd.
STAGE1_SRCS := $(wildcard init/stage1/*.c) init/common/cmdline.c init/common/config.c init/common/platform.c init/common/log.c \
	init/common/moddep.c init/common/probe.c init/common/sha256.c init/common/fileio.c init/common/fileread.c init/common/clock.c \
	init/common/modload.c init/common/spawn.c init/common/apimounts.c init/common/netif.c init/common/mountinfo.c \
	init/common/url.c init/common/http.c init/common/dns.c \
	$(patsubst %,init/dhcp/%.c,packet netlink arp lease iface ipconfig sock timing client)
STAGE1_OBJS := $(patsubst init/%.c,$(BUILD)/obj/%.o,$(STAGE1_SRCS))

$(BUILD)/bin/init: $(STAGE1_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/init

# persistence.conf parser: host gcc with ASan/UBSan (PROBE_SAN, init/common/build.mk).
$(BUILD)/hostobj/stage1/persistconf_asan.o: init/stage1/persistconf.c init/stage1/persistconf.h
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_persistconf: tests/unit/test_persistconf.c $(BUILD)/hostobj/stage1/persistconf_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_persistconf
BENCH += tests/bench_live.py
