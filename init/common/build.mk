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
$(BUILD)/bin/liveinit-moddep: $(BUILD)/obj/common/moddep_cli.o $(BUILD)/obj/common/moddep.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^
ALL += $(BUILD)/bin/liveinit-moddep

