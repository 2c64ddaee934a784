# liveinit: live-environment initrd and init suite.  See README.md.
#
# Each component adds its own rules in a fragment (init/*/build.mk, initrd/build.mk, iso/build.mk, ...),
# appending to ALL (what `make` builds), UNIT_TESTS (host-built test binaries run by tests/test_unit.py)
# and BENCH (benchmark scripts run by `make bench`).

VERSION   := 0.2
BUILD     := build
CC        := musl-gcc
HOSTCC    := gcc
KINC      := $(BUILD)/include
WARN      := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -DLIVEINIT_VERSION=\"$(VERSION)\"
CFLAGS    := $(WARN) -Os -Iinit -isystem $(KINC) -ffunction-sections -fdata-sections -MMD -MP
# noseparate-code: code and read-only data share pages instead of each padding to its own (4 KB of stage 1).
LDFLAGS   := -static -s -Wl,--gc-sections -Wl,-z,noseparate-code
HOSTCFLAGS:= $(WARN) -O1 -g -Iinit -MMD -MP
PYTEST    := /usr/bin/python3 -m pytest -p no:cacheprovider -v -rfE

# Target kernel for the initrd: Debian's UML kernel by default.
UML_KVER  := $(shell ls /usr/lib/uml/modules 2>/dev/null | sort -V | tail -n1)
KVER      ?= $(UML_KVER)
KMODDIR   ?= /usr/lib/uml/modules/$(KVER)
UML_LINUX ?= /usr/bin/linux.uml

ALL        :=
UNIT_TESTS :=
BENCH      :=

.PHONY: all deps check unit run bench clean
.DEFAULT_GOAL := all

# Kernel headers for musl: only linux/, asm/ and asm-generic/ from Debian's linux-libc-dev.
$(KINC)/.stamp:
	mkdir -p $(KINC)
	ln -sfn /usr/include/linux $(KINC)/linux
	ln -sfn /usr/include/asm-generic $(KINC)/asm-generic
	ln -sfn /usr/include/$(shell gcc -print-multiarch)/asm $(KINC)/asm
	touch $@

# musl objects for the guest, host objects for unit tests; both from init/.
$(BUILD)/obj/%.o: init/%.c $(KINC)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/hostobj/%.o: init/%.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOSTCFLAGS) -c -o $@ $<

include $(sort $(wildcard init/*/build.mk initrd/build.mk iso/build.mk iso/rescue.mk scripts/build.mk kernel-config/build.mk tests/*.mk))

all: $(ALL)

deps:
	scripts/deps

unit: $(UNIT_TESTS)

check: deps
	$(MAKE) all unit
	$(PYTEST) tests/

run: deps
	$(MAKE) all
	scripts/uml-run mem=128M initrd=$(BUILD)/initrd.img root=/dev/ubda ubdar=$(BUILD)/live.iso uml

bench: deps
	$(MAKE) all
	@set -e; for b in $(BENCH); do /usr/bin/python3 $$b; done

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/hostobj $(BUILD)/hostsan -name '*.d' 2>/dev/null)

print-%:
	@echo $($*)
