/* The status line and headers of an HTTP/1.x response, as the fetch= client needs them.  Pure: no I/O,
 * for unit tests and fuzzing. */
#ifndef LIVEINIT_COMMON_HTTP_H
#define LIVEINIT_COMMON_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_UNKNOWN_LENGTH UINT64_MAX

struct http_response {
	int status;                  /* 200, 206, 404... */
	size_t header_len;           /* bytes up to and including the blank line: the body starts there */
	uint64_t content_length;     /* HTTP_UNKNOWN_LENGTH when absent */
	bool has_range;              /* Content-Range: bytes FIRST-LAST/TOTAL */
	uint64_t range_first, range_last, range_total;   /* range_total HTTP_UNKNOWN_LENGTH for "/ *" */
	bool chunked;                /* Transfer-Encoding: chunked (we ask with HTTP/1.1 but do not accept it) */
	bool close;                  /* Connection: close */
};

/* Parse the response head in buf[0..len).  Returns 1 when the head is complete and parsed, 0 when more
 * bytes are needed (no blank line yet), -1 with *why when it is malformed (bad status line, a bad
 * Content-Length or Content-Range, a header line without ':', a head over 16 KiB). */
int http_parse_response(const char *buf, size_t len, struct http_response *out, const char **why);

#endif
