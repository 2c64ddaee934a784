# DHCP client: build/bin/dhcpc (musl, static), its unit tests and the libFuzzer target.

DHCP_SRCS := packet netlink arp lease iface ipconfig sock client main
DHCP_OBJS := $(patsubst %,$(BUILD)/obj/dhcp/%.o,$(DHCP_SRCS)) $(BUILD)/obj/common/log.o

$(BUILD)/bin/dhcpc: $(DHCP_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

ALL += $(BUILD)/bin/dhcpc
