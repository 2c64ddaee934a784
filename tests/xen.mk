# Xen domU tests (issue 7).  The Xen-in-qemu harness pieces are built and cached by tests/xen/build-harness
# (called by tests/xenvm.py, or `make xen-harness`); xlu-dump parses xl configs with Xen's own libxlutil.

XLU_DUMP := $(BUILD)/tests/xlu-dump

$(XLU_DUMP): tests/xen/xlu-dump.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(WARN) -O1 -g -o $@ $< -lxlutil -lxenlight

.PHONY: xen-harness
xen-harness:
	tests/xen/build-harness

BENCH += tests/bench_xen.py
