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
