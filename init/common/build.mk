# init/common: shared pieces (probe, ...) and their standalone tools and unit tests.

# liveinit-probe: the superblock prober as a command (used by tests/test_probe.py).
$(BUILD)/bin/liveinit-probe: $(BUILD)/obj/common/probe_cli.o $(BUILD)/obj/common/probe.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
ALL += $(BUILD)/bin/liveinit-probe

# Unit test of the prober: host gcc with ASan/UBSan, so the mutation loop catches out-of-bounds reads.
PROBE_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
$(BUILD)/hostobj/common/probe_asan.o: init/common/probe.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_probe: tests/unit/test_probe.c $(BUILD)/hostobj/common/probe_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_probe

# liveinit-moddep: the module resolver as a command (used by initrd/mkinitrd).
$(BUILD)/bin/liveinit-moddep: $(BUILD)/obj/common/moddep_cli.o $(BUILD)/obj/common/moddep.o $(BUILD)/obj/common/fileio.o \
		$(BUILD)/obj/common/fileread.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
ALL += $(BUILD)/bin/liveinit-moddep


# Unit tests of the cmdline parser + platform detection, the module resolver and SHA-256: host gcc with
# ASan/UBSan like test_probe.  test_moddep reads the real modules.dep of $(KMODDIR) (compiled in; the
# environment variable MODDEP_DIR overrides it).
UT_COMMON_OBJS := cmdline platform moddep sha256 fileio fileread clock modload pidfile spawn apimounts netif \
	select coldplug log steptime uevent
$(UT_COMMON_OBJS:%=$(BUILD)/hostobj/common/%_asan.o): $(BUILD)/hostobj/common/%_asan.o: init/common/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_cmdline: tests/unit/test_cmdline.c $(BUILD)/hostobj/common/cmdline_asan.o \
		$(BUILD)/hostobj/common/platform_asan.o $(BUILD)/hostobj/common/fileio_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
$(BUILD)/tests/test_moddep: tests/unit/test_moddep.c $(BUILD)/hostobj/common/moddep_asan.o \
		$(BUILD)/hostobj/common/fileio_asan.o $(BUILD)/hostobj/common/fileread_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -DMODDEP_DEFAULT_DIR=\"$(KMODDIR)\" -o $@ $^ -lcmocka
UT_STAGE1_OBJS := mediacheck util steps
$(UT_STAGE1_OBJS:%=$(BUILD)/hostobj/stage1/%_asan.o): $(BUILD)/hostobj/stage1/%_asan.o: init/stage1/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_sha256: tests/unit/test_sha256.c $(BUILD)/hostobj/common/sha256_asan.o \
		$(BUILD)/hostobj/stage1/mediacheck_asan.o $(BUILD)/hostobj/stage1/util_asan.o \
		$(BUILD)/hostobj/common/fileio_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_cmdline $(BUILD)/tests/test_moddep $(BUILD)/tests/test_sha256

# liveinit-coldplug: load the modules of the devices under /sys (coldplug.c; stage 2 calls coldplug_run()).
COLDPLUG_OBJS := $(BUILD)/obj/common/coldplug.o $(BUILD)/obj/common/moddep.o $(BUILD)/obj/common/fileio.o \
	$(BUILD)/obj/common/fileread.o \
	$(BUILD)/obj/common/modload.o
$(BUILD)/bin/liveinit-coldplug: $(BUILD)/obj/common/coldplug_cli.o $(COLDPLUG_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
ALL += $(BUILD)/bin/liveinit-coldplug
ROOT_INSTALL += $(BUILD)/bin/liveinit-coldplug:/sbin/liveinit-coldplug
ROOT_DEPS += $(BUILD)/bin/liveinit-coldplug

# Unit test on fixture sysfs trees and the PC kernel's real modules.alias (from the live root's module tree).
$(BUILD)/tests/test_coldplug: tests/unit/test_coldplug.c $(BUILD)/hostobj/common/coldplug.o \
		$(BUILD)/hostobj/common/moddep.o $(BUILD)/hostobj/common/fileio.o $(BUILD)/hostobj/common/fileread.o \
		$(BUILD)/hostobj/common/modload.o \
		$(BUILD)/rootmods/pc.stamp
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -DPC_MODDIR=\"$(BUILD)/rootmods/pc/lib/modules/$(PC_KVER)\" \
		-o $@ $(filter %.c %.o,$^) -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_coldplug

# Unit test of the shadow writer and our SHA-512 crypt, checked against the host's libcrypt.
$(BUILD)/hostobj/common/shadow_asan.o $(BUILD)/hostobj/common/sha512_asan.o: $(BUILD)/hostobj/common/%_asan.o: init/common/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -c -o $@ $<
$(BUILD)/tests/test_shadow: tests/unit/test_shadow.c $(BUILD)/hostobj/common/shadow_asan.o \
		$(BUILD)/hostobj/common/sha512_asan.o $(BUILD)/hostobj/common/fileio_asan.o \
		$(BUILD)/hostobj/common/fileread_asan.o
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $(filter %.c %.o,$^) -lcmocka -lcrypt
UNIT_TESTS += $(BUILD)/tests/test_shadow

# The one-job helpers every stage shares (fileio + fileread, clock, modload, pidfile, spawn, apimounts, netif; see
# README.md "Layout"): one cmocka test binary, ASan/UBSan like the others.  Mounting (apimounts) and shells on a
# pty (spawn) are real: the test runs as root in its own mount namespace.
UT_HELPERS := fileio fileread clock modload pidfile spawn apimounts netif
$(BUILD)/tests/test_helpers: tests/unit/test_helpers.c $(UT_HELPERS:%=$(BUILD)/hostobj/common/%_asan.o)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ $^ -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_helpers

# Driver selection (select.c: which of the initrd's modules stage 1 loads) on fixture sysfs trees, against the PC
# initrd's own module tables: the initrd unpacked under build/pc/initrd-tree.
$(BUILD)/pc/initrd-tree.stamp: $(BUILD)/pc/initrd.img initrd/initrd-cat
	rm -rf $(BUILD)/pc/initrd-tree && mkdir -p $(BUILD)/pc/initrd-tree
	initrd/initrd-cat $< | (cd $(BUILD)/pc/initrd-tree && cpio --quiet -id 'lib/modules/*')
	touch $@
$(BUILD)/tests/test_select: tests/unit/test_select.c $(BUILD)/hostobj/common/select_asan.o \
		$(BUILD)/hostobj/common/coldplug_asan.o $(BUILD)/hostobj/common/moddep_asan.o \
		$(BUILD)/hostobj/common/fileio_asan.o $(BUILD)/hostobj/common/fileread_asan.o \
		$(BUILD)/hostobj/common/modload_asan.o $(BUILD)/hostobj/common/uevent_asan.o $(BUILD)/pc/initrd-tree.stamp
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -DINITRD_MODDIR=\"$(BUILD)/pc/initrd-tree/lib/modules/$(PC_KVER)\" \
		-o $@ $(filter %.c %.o,$^) -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_select

# fetch='s parsers (URL, HTTP response head, DNS reply) and the lease file read back: cmocka + ASan/UBSan,
# and a libFuzzer target (make fuzz-netparse; make check runs it briefly through tests/test_unit.py).
NETPARSE_SRCS := init/common/url.c init/common/http.c init/common/dns.c init/dhcp/lease.c init/dhcp/packet.c
$(BUILD)/tests/test_netparse: tests/unit/test_netparse.c $(NETPARSE_SRCS) $(wildcard init/common/*.h init/dhcp/*.h)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) $(PROBE_SAN) -o $@ tests/unit/test_netparse.c $(NETPARSE_SRCS) -lcmocka
UNIT_TESTS += $(BUILD)/tests/test_netparse

$(BUILD)/fuzz/fuzz_netparse: tests/fuzz/fuzz_netparse.c $(NETPARSE_SRCS) $(wildcard init/common/*.h init/dhcp/*.h)
	@mkdir -p $(dir $@)
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Iinit -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ tests/fuzz/fuzz_netparse.c $(NETPARSE_SRCS)

.PHONY: fuzz-netparse
fuzz-netparse: $(BUILD)/fuzz/fuzz_netparse
	@mkdir -p $(BUILD)/fuzz/netparse-corpus
	$(BUILD)/fuzz/fuzz_netparse -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -print_final_stats=1 \
		$(BUILD)/fuzz/netparse-corpus tests/fuzz/netparse-seeds
