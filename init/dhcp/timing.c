#include "dhcp/timing.h"

int64_t dhcp_backoff_ms(int tries, uint32_t random)
{
	int64_t base = 4000LL << (tries < 0 ? 0 : tries < 4 ? tries : 4);
	return base - 1000 + (int64_t)(random % 2001);
}

int64_t dhcp_retransmit_at(int64_t now, int64_t deadline)
{
	int64_t left = deadline - now, wait = left / 2;
	if (left <= 0)
		return now;
	if (wait < 60000)
		wait = left < 60000 ? left : 60000;
	return now + wait;
}

uint32_t dhcp_lease_times(uint32_t lease, uint32_t opt_t1, uint32_t opt_t2, uint32_t *t1, uint32_t *t2)
{
	if (lease == 0)
		lease = DHCP_DEFAULT_LEASE;
	*t1 = lease / 2;
	*t2 = (uint32_t)((uint64_t)lease * 7 / 8);
	if (opt_t2 && opt_t2 <= lease)
		*t2 = opt_t2;
	if (opt_t1 && opt_t1 <= *t2)
		*t1 = opt_t1;
	if (*t1 > *t2)
		*t1 = *t2;
	return lease;
}
