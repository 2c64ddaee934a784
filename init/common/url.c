#include "common/url.h"

#include <string.h>

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -1;
}

int url_parse(const char *text, struct url *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	if (strncmp(text, "http://", 7) != 0)
		return fail(why, "not an http:// URL");
	const char *host = text + 7;
	size_t hlen = strcspn(host, ":/?#");
	if (hlen == 0)
		return fail(why, "no host name");
	if (hlen >= sizeof(out->host))
		return fail(why, "host name too long");
	for (size_t i = 0; i < hlen; i++) {
		char ch = host[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' ||
		      ch == '.'))
			return fail(why, "host name with a character other than letters, digits, '-' and '.'");
	}
	memcpy(out->host, host, hlen);
	const char *p = host + hlen;
	out->port = 80;
	if (*p == ':') {
		unsigned long port = 0;
		int digits = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if ((port = port * 10 + (unsigned long)(*p - '0')) > 65535)
				return fail(why, "port out of range");
		if (digits == 0 || port == 0)
			return fail(why, "no port number after ':'");
		out->port = (uint16_t)port;
	}
	if (*p == '#' || *p == '?' || *p == 0) {
		if (*p == '?') {
			if (strlen(p) + 2 > sizeof(out->path))
				return fail(why, "path too long");
			out->path[0] = '/';
			strcpy(out->path + 1, p);
		} else {
			strcpy(out->path, "/");
		}
	} else if (*p != '/') {
		return fail(why, "garbage after the port");
	} else {
		size_t plen = strcspn(p, "#");
		if (plen >= sizeof(out->path))
			return fail(why, "path too long");
		memcpy(out->path, p, plen);
		out->path[plen] = 0;
	}
	for (const char *c = out->path; *c; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return fail(why, "space or control character in the path (write it as %20)");
	return 0;
}
