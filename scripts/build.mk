# scripts/build.mk: host-side helpers for running UML (scripts/uml-run).
#   build/lib/uml-xstate-preload.so  LD_PRELOAD ptrace shim for hosts with large XSAVE areas
#   build/bin/uml-xstate-check       says whether this host needs it (exit 0 no, 1 yes)
#   build/tests/host/uml-xstate-roundtrip  test helper for tests/test_umlrun.py (not a cmocka test)

UML_PRELOAD    := $(BUILD)/lib/uml-xstate-preload.so
UML_CHECK      := $(BUILD)/bin/uml-xstate-check
UML_ROUNDTRIP  := $(BUILD)/tests/host/uml-xstate-roundtrip
HOST_TOOLFLAGS := -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -O2

$(UML_PRELOAD): init/host/uml_xstate_preload.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_TOOLFLAGS) -fPIC -shared -o $@ $< -ldl

$(UML_CHECK): init/host/uml_xstate_check.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_TOOLFLAGS) -o $@ $<

$(UML_ROUNDTRIP): tests/host/uml_xstate_roundtrip.c
	@mkdir -p $(dir $@)
	$(HOSTCC) $(HOST_TOOLFLAGS) -o $@ $<

ALL += $(UML_PRELOAD) $(UML_CHECK) $(UML_ROUNDTRIP)

# create (scripts/create): nested UML guests of the live system.  Installed into the live root with
# uml-run; with LIVE_UML=yes (default) also the glibc runtime that the UML kernel on the ISO (/uml/linux,
# see iso/build.mk) and create need there: the libraries, bash, uml_mconsole, flock and uml-run's helpers,
# staged by scripts/uml-runtime from this host's files.  LIVE_UML=no keeps the root small.
LIVE_UML    ?= yes
UML_RUNTIME := $(BUILD)/uml-runtime
ROOT_INSTALL += scripts/create:/usr/bin/create scripts/uml-run:/usr/bin/uml-run
ROOT_DEPS    += scripts/create scripts/uml-run
ifeq ($(LIVE_UML),yes)
$(UML_RUNTIME).stamp: scripts/uml-runtime $(UML_LINUX) $(UML_PRELOAD) $(UML_CHECK) /bin/bash /usr/bin/uml_mconsole /usr/bin/flock
	scripts/uml-runtime --out $(UML_RUNTIME) $(UML_LINUX): /bin/bash /usr/bin/uml_mconsole /usr/bin/flock \
		$(UML_PRELOAD):/usr/lib/liveinit/uml-xstate-preload.so $(UML_CHECK):/usr/lib/liveinit/uml-xstate-check
	touch $@
ROOT_TREES   += $(UML_RUNTIME):/
ROOT_DEPS    += $(UML_RUNTIME).stamp
endif
BENCH += tests/bench_create.py
