# DHCP client: build/bin/dhcpc (musl, static, <= 64 KiB), its unit tests and the libFuzzer target.

DHCP_SRCS := packet netlink arp lease iface ipconfig sock timing client main
DHCP_OBJS := $(patsubst %,$(BUILD)/obj/dhcp/%.o,$(DHCP_SRCS))
# Size: no unwind tables (C, no exceptions), no page-aligned padding between code and data segments.
$(DHCP_OBJS): CFLAGS += -fno-asynchronous-unwind-tables -fno-unwind-tables
DHCP_LDFLAGS := -Wl,-z,noseparate-code

# The shared helpers dhcpc uses (none of them pulls malloc in), compiled again with dhcpc's size flags.
DHCP_COMMON := fileio clock pidfile netif
DHCP_COMMON_OBJS := $(DHCP_COMMON:%=$(BUILD)/obj/dhcp/common-%.o)
$(DHCP_COMMON_OBJS): $(BUILD)/obj/dhcp/common-%.o: init/common/%.c $(KINC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fno-asynchronous-unwind-tables -fno-unwind-tables -c -o $@ $<
$(BUILD)/bin/dhcpc: $(DHCP_OBJS) $(BUILD)/obj/common/log.o $(DHCP_COMMON_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(DHCP_LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/dhcpc
# In the live root as /sbin/dhcpc, where stage 2 runs it (init/dhcp/dhcpc.h has the contract).
ROOT_INSTALL += $(BUILD)/bin/dhcpc:/sbin/dhcpc
ROOT_DEPS    += $(BUILD)/bin/dhcpc

# ---- unit tests (cmocka, host gcc with ASan/UBSan like the other unit tests) ----
DHCP_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
DHCP_UT_OBJS := $(patsubst %,$(BUILD)/hostobj/dhcp/%_asan.o,packet arp lease ipconfig iface netlink timing)
$(DHCP_UT_OBJS): $(BUILD)/hostobj/dhcp/%_asan.o: init/dhcp/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(DHCP_SAN) -c -o $@ $<
$(BUILD)/tests/test_dhcp_packet $(BUILD)/tests/test_dhcp_ipconfig: $(BUILD)/tests/%: tests/unit/%.c $(DHCP_UT_OBJS) \
		$(DHCP_COMMON:%=$(BUILD)/hostobj/common/%_asan.o)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(DHCP_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_dhcp_packet $(BUILD)/tests/test_dhcp_ipconfig

# ---- fuzzing (clang libFuzzer + ASan/UBSan) ----
# `make fuzz` runs the parser fuzzer for FUZZ_SECONDS (make check: 20 s; by hand: as long as you like),
# starting from the captured packets in tests/fuzz/dhcp-seeds; new inputs collect in build/fuzz/corpus.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := tests/fuzz/fuzz_dhcp.c $(patsubst %,init/dhcp/%.c,packet arp lease ipconfig iface netlink timing) \
	$(DHCP_COMMON:%=init/common/%.c)
$(BUILD)/fuzz/fuzz_dhcp: $(FUZZ_SRCS) $(wildcard init/dhcp/*.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinit -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(FUZZ_SRCS)

.PHONY: fuzz
fuzz: $(BUILD)/fuzz/fuzz_dhcp
	@mkdir -p $(BUILD)/fuzz/corpus
	$(BUILD)/fuzz/fuzz_dhcp -max_total_time=$(FUZZ_SECONDS) -max_len=1500 -print_final_stats=1 \
		$(BUILD)/fuzz/corpus tests/fuzz/dhcp-seeds

BENCH += tests/bench_dhcp.py
