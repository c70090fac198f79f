/* Frames over the socket to carton-runtime, and the plan reader (docs/protocol.md). */
#include "init.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FRAME (64u * 1024 * 1024)

int send_frame(uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	uint32_t head[2] = { (uint32_t)(4 + alen + blen), type };
	struct iovec iov[3] = { { head, 8 }, { (void *)a, alen }, { (void *)b, blen } };
	int n = 3;
	struct iovec *v = iov;
	/* One writev keeps a frame whole even when parent and child share the socket. */
	while (n > 0) {
		ssize_t w = writev(st.sock, v, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= w;
		}
	}
	return 0;
}

static int read_full(void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t r = read(st.sock, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail(errno, "protocol: read");
		if (r == 0)
			return fail(EPIPE, "protocol: socket closed");
		p += r;
		len -= r;
	}
	return 0;
}

int read_frame(uint32_t *type, char **payload, uint32_t *len)
{
	uint32_t head[2];
	if (read_full(head, 8) < 0)
		return -1;
	if (head[0] < 4 || head[0] > MAX_FRAME)
		return fail(EPROTO, "protocol: bad frame length");
	*type = head[1];
	*len = head[0] - 4;
	*payload = malloc(*len + 1);
	if (!*payload)
		return fail(ENOMEM, "protocol: malloc");
	(*payload)[*len] = 0;
	return read_full(*payload, *len);
}

int parse_plan(char *p, uint32_t len, struct op **ops_out, uint32_t *count_out)
{
	char *end = p + len;
	uint32_t count;
	if (len < 4)
		return fail(EPROTO, "protocol: short plan");
	memcpy(&count, p, 4);
	p += 4;
	if (count > len / 8)
		return fail(EPROTO, "protocol: bad op count");
	struct op *ops = calloc(count ? count : 1, sizeof(*ops));
	if (!ops)
		return fail(ENOMEM, "protocol: malloc");
	for (uint32_t i = 0; i < count; i++) {
		if (end - p < 8)
			return fail(EPROTO, "protocol: truncated op %u", i);
		memcpy(&ops[i].code, p, 4);
		memcpy(&ops[i].argc, p + 4, 4);
		p += 8;
		if (ops[i].argc > (uint32_t)(end - p))
			return fail(EPROTO, "protocol: bad argc in op %u", i);
		ops[i].args = calloc(ops[i].argc ? ops[i].argc : 1, sizeof(struct arg));
		if (!ops[i].args)
			return fail(ENOMEM, "protocol: malloc");
		for (uint32_t j = 0; j < ops[i].argc; j++) {
			struct arg *a = &ops[i].args[j];
			if (end - p < 1)
				return fail(EPROTO, "protocol: truncated op %u", i);
			a->tag = (unsigned char)*p++;
			if (a->tag == ARG_U64) {
				if (end - p < 8)
					return fail(EPROTO, "protocol: truncated op %u", i);
				memcpy(&a->u, p, 8);
				p += 8;
			} else if (a->tag == ARG_BYTES) {
				if (end - p < 4)
					return fail(EPROTO, "protocol: truncated op %u", i);
				memcpy(&a->len, p, 4);
				p += 4;
				if (a->len > (uint32_t)(end - p))
					return fail(EPROTO, "protocol: truncated op %u", i);
				a->s = malloc(a->len + 1);
				if (!a->s)
					return fail(ENOMEM, "protocol: malloc");
				memcpy(a->s, p, a->len);
				a->s[a->len] = 0;
				p += a->len;
			} else {
				return fail(EPROTO, "protocol: bad argument tag in op %u", i);
			}
		}
	}
	if (p != end)
		return fail(EPROTO, "protocol: trailing bytes after plan");
	*ops_out = ops;
	*count_out = count;
	return 0;
}

int want_args(const struct op *op, uint32_t min, uint32_t max)
{
	if (op->argc < min || op->argc > max)
		return fail(EINVAL, "protocol: op %u takes %u..%u arguments, got %u", op->code, min, max, op->argc);
	return 0;
}

int want_u64(const struct op *op, uint32_t i, uint64_t *out)
{
	if (i >= op->argc || op->args[i].tag != ARG_U64)
		return fail(EINVAL, "protocol: op %u argument %u must be a number", op->code, i);
	*out = op->args[i].u;
	return 0;
}

int want_str(const struct op *op, uint32_t i, char **out)
{
	if (i >= op->argc || op->args[i].tag != ARG_BYTES)
		return fail(EINVAL, "protocol: op %u argument %u must be bytes", op->code, i);
	*out = op->args[i].s;
	return 0;
}

/* Block for CONTINUE; a non-zero status means TypeScript gave up: leave quietly. */
int wait_continue(void)
{
	uint32_t type, len, status;
	char *payload;
	if (read_frame(&type, &payload, &len) < 0)
		return -1;
	if (type != MSG_CONTINUE || len < 4)
		return fail(EPROTO, "protocol: expected continue");
	memcpy(&status, payload, 4);
	if (status != 0)
		_exit(1);
	free(st.cont_payload);
	st.cont_len = len - 4;
	st.cont_payload = malloc(st.cont_len + 1);
	if (!st.cont_payload)
		return fail(ENOMEM, "malloc");
	memcpy(st.cont_payload, payload + 4, st.cont_len);
	st.cont_payload[st.cont_len] = 0;
	free(payload);
	return 0;
}
