# DHCP client: build/bin/dhcpc (musl, static, <= 64 KiB), its unit tests and the libFuzzer target.

DHCP_SRCS := packet netlink arp lease iface ipconfig sock client main
DHCP_OBJS := $(patsubst %,$(BUILD)/obj/dhcp/%.o,$(DHCP_SRCS))
# Size: no unwind tables (C, no exceptions), no page-aligned padding between code and data segments.
$(DHCP_OBJS): CFLAGS += -fno-asynchronous-unwind-tables -fno-unwind-tables
DHCP_LDFLAGS := -Wl,-z,noseparate-code

$(BUILD)/bin/dhcpc: $(DHCP_OBJS) $(BUILD)/obj/common/log.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $(DHCP_LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/dhcpc
