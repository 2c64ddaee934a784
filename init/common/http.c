#include "common/http.h"

#include <string.h>
#include <strings.h>

#define HEAD_MAX 16384

static int fail(const char **why, const char *msg)
{
	*why = msg;
	return -1;
}

/* Decimal digits in [p, end) into *out; no sign, no overflow.  Returns the end of the digits or NULL. */
static const char *parse_u64(const char *p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *start = p;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == start)
		return NULL;
	*out = v;
	return p;
}

static const char *skip_space(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* "bytes FIRST-LAST/TOTAL" or "bytes FIRST-LAST/ *" */
static int parse_range(const char *v, const char *end, struct http_response *r)
{
	if (end - v < 6 || strncasecmp(v, "bytes ", 6) != 0)
		return -1;
	const char *p = parse_u64(skip_space(v + 6, end), end, &r->range_first);
	if (!p || p >= end || *p != '-')
		return -1;
	p = parse_u64(p + 1, end, &r->range_last);
	if (!p || p >= end || *p != '/' || r->range_last < r->range_first)
		return -1;
	p++;
	if (p < end && *p == '*') {
		r->range_total = HTTP_UNKNOWN_LENGTH;
		p++;
	} else {
		p = parse_u64(p, end, &r->range_total);
		if (!p || r->range_last >= r->range_total)
			return -1;
	}
	return skip_space(p, end) == end ? 0 : -1;
}

static bool header_is(const char *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && strncasecmp(name, want, nlen) == 0;
}

static bool value_has(const char *v, const char *end, const char *token)
{
	size_t t = strlen(token);
	for (const char *p = v; p + t <= end; p++)
		if (strncasecmp(p, token, t) == 0)
			return true;
	return false;
}

static int parse_header(const char *line, const char *end, struct http_response *r, const char **why)
{
	const char *colon = memchr(line, ':', (size_t)(end - line));
	if (!colon || colon == line)
		return fail(why, "a header line without a name and ':'");
	size_t nlen = (size_t)(colon - line);
	const char *v = skip_space(colon + 1, end), *vend = end;
	while (vend > v && (vend[-1] == ' ' || vend[-1] == '\t'))
		vend--;
	if (header_is(line, nlen, "Content-Length")) {
		uint64_t n;
		const char *p = parse_u64(v, vend, &n);
		if (!p || p != vend)
			return fail(why, "a bad Content-Length");
		if (r->content_length != HTTP_UNKNOWN_LENGTH && r->content_length != n)
			return fail(why, "two different Content-Length headers");
		r->content_length = n;
	} else if (header_is(line, nlen, "Content-Range")) {
		if (parse_range(v, vend, r))
			return fail(why, "a bad Content-Range");
		r->has_range = true;
	} else if (header_is(line, nlen, "Transfer-Encoding")) {
		r->chunked = r->chunked || value_has(v, vend, "chunked");
	} else if (header_is(line, nlen, "Connection")) {
		r->close = r->close || value_has(v, vend, "close");
	}
	return 0;
}

int http_parse_response(const char *buf, size_t len, struct http_response *out, const char **why)
{
	memset(out, 0, sizeof(*out));
	out->content_length = HTTP_UNKNOWN_LENGTH;
	/* Find the end of the head: "\r\n\r\n" (or a bare "\n\n", which servers should not send but some do). */
	size_t head = 0;
	for (size_t i = 0; i < len && !head; i++) {
		if (buf[i] != '\n')
			continue;
		if (i + 1 < len && buf[i + 1] == '\n')
			head = i + 2;
		else if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			head = i + 3;
	}
	if (!head)
		return len > HEAD_MAX ? fail(why, "response head over 16 KiB") : 0;
	if (head > HEAD_MAX)
		return fail(why, "response head over 16 KiB");
	out->header_len = head;
	const char *p = buf, *end = buf + head;
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	const char *lend = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
	/* "HTTP/1.x SSS reason" */
	if (lend - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1') || p[8] != ' ')
		return fail(why, "not an HTTP/1.x status line");
	for (int i = 9; i < 12; i++)
		if (p[i] < '0' || p[i] > '9')
			return fail(why, "a status code that is not three digits");
	if (lend - p > 12 && p[12] != ' ')
		return fail(why, "a status code that is not three digits");
	out->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	if (out->status < 100)
		return fail(why, "a status code below 100");
	for (p = eol + 1; p < end;) {
		eol = memchr(p, '\n', (size_t)(end - p));
		lend = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		if (lend == p)   /* the blank line */
			break;
		if (*p == ' ' || *p == '\t')
			return fail(why, "a folded header line (obsolete, RFC 7230 3.2.4)");
		if (parse_header(p, lend, out, why))
			return -1;
		p = eol + 1;
	}
	return 1;
}
