# libFuzzer targets for the parsers of input the boot does not control (issue 12): the kernel command line,
# superblocks, mountinfo, the user's fstab merged with our section, modules.dep, modules.alias and the
# persistence disk's persistence.conf.
# clang with ASan/UBSan, like fuzz_dhcp (init/dhcp/build.mk).
#   make fuzz-NAME [FUZZ_SECONDS=60] [FUZZ_RUNS=N]   one of PARSER_FUZZERS, until N executions or that many
#                                                     seconds, whichever comes first; make check: 5 s each
#   make fuzz-parsers                                 all of them
# Seeds: tests/fuzz/NAME-seeds/ and generated ones in build/fuzz/NAME-gen/ (real images, real module files,
# this machine's mountinfo); new inputs collect in build/fuzz/NAME-corpus/.

PARSER_FUZZERS := cmdline probe mountinfo fstab moddep alias persistconf
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -Iinit -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

FUZZ_SRCS_cmdline   := init/common/cmdline.c init/common/platform.c init/common/fileio.c init/common/fileread.c
FUZZ_SRCS_probe     := init/common/probe.c
FUZZ_SRCS_mountinfo := init/common/mountinfo.c init/common/fileread.c
FUZZ_SRCS_fstab     := init/stage2/fstab.c init/common/mountinfo.c init/common/probe.c init/common/fileio.c init/common/fileread.c \
	init/common/moddep.c
FUZZ_SRCS_persistconf := init/stage1/persistconf.c
FUZZ_SRCS_moddep    := init/common/moddep.c init/common/fileread.c
FUZZ_SRCS_alias     := init/common/coldplug.c init/common/moddep.c init/common/modload.c init/common/fileread.c init/common/fileio.c
FUZZ_MAXLEN_probe   := 73728
FUZZ_MAXLEN_moddep  := 4096
FUZZ_MAXLEN_alias   := 4096

define parser_fuzzer
$(BUILD)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FUZZ_SRCS_$(1)) $(wildcard init/common/*.h init/stage2/*.h)
	@mkdir -p $$(dir $$@)
	clang $(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $(FUZZ_SRCS_$(1))
endef
$(foreach f,$(PARSER_FUZZERS),$(eval $(call parser_fuzzer,$(f))))

# Generated seeds (kept under build/, made once).
$(BUILD)/fuzz/probe-gen/.stamp: tests/fuzz/probe_seeds.py tests/test_probe.py
	/usr/bin/python3 tests/fuzz/probe_seeds.py $(dir $@)
	touch $@
$(BUILD)/fuzz/moddep-gen/.stamp: $(KMODDIR)/modules.dep
	@mkdir -p $(dir $@)
	head -c 4000 $(KMODDIR)/modules.dep > $(dir $@)uml-head
	{ head -c 2500 $(KMODDIR)/modules.dep; printf '\0'; head -c 1500 $(KMODDIR)/modules.builtin; } > $(dir $@)uml-builtin
	touch $@
$(BUILD)/fuzz/alias-gen/.stamp: $(KMODDIR)/modules.alias
	@mkdir -p $(dir $@)
	head -c 4000 $(KMODDIR)/modules.alias > $(dir $@)uml-head
	{ head -c 3500 $(KMODDIR)/modules.alias; printf '\0%s' 'virtio:d00000001v00001AF4'; } > $(dir $@)uml-virtio
	{ grep -m 40 ' pci:' $(KMODDIR)/modules.alias || true; printf '\0%s' 'pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00'; } > $(dir $@)uml-pci
	touch $@
$(BUILD)/fuzz/mountinfo-gen/.stamp:
	@mkdir -p $(dir $@)
	cat /proc/self/mountinfo > $(dir $@)this-machine
	touch $@
$(BUILD)/fuzz/cmdline-gen/.stamp $(BUILD)/fuzz/fstab-gen/.stamp $(BUILD)/fuzz/persistconf-gen/.stamp:
	@mkdir -p $(dir $@)
	touch $@

FUZZ_RUNS ?=
.PHONY: fuzz-parsers $(PARSER_FUZZERS:%=fuzz-%)
$(PARSER_FUZZERS:%=fuzz-%): fuzz-%: $(BUILD)/fuzz/fuzz_% $(BUILD)/fuzz/%-gen/.stamp
	@mkdir -p $(BUILD)/fuzz/$*-corpus
	$(BUILD)/fuzz/fuzz_$* $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS)) -max_total_time=$(FUZZ_SECONDS) \
		-max_len=$(or $(FUZZ_MAXLEN_$*),4096) -print_final_stats=1 \
		$(BUILD)/fuzz/$*-corpus $(BUILD)/fuzz/$*-gen $(wildcard tests/fuzz/$*-seeds)
fuzz-parsers: $(PARSER_FUZZERS:%=fuzz-%)
