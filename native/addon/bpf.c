/* Device access for cgroup v2: load a BPF_PROG_TYPE_CGROUP_DEVICE program (compiled in
 * TypeScript) and make it the cgroup's only device program. */
#include "addon.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_PROGS 64

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int query(int cg, uint32_t *ids, uint32_t *count, uint32_t *flags)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.query.target_fd = cg;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uint64_t)(uintptr_t)ids;
	a.query.prog_cnt = MAX_PROGS;
	if (sys_bpf(BPF_PROG_QUERY, &a) < 0)
		return -1;
	*count = a.query.prog_cnt;
	*flags = a.query.attach_flags;
	return 0;
}

static int detach_id(int cg, uint32_t id)
{
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	int fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1; /* already gone */
	memset(&a, 0, sizeof(a));
	a.target_fd = cg;
	a.attach_bpf_fd = fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	int r = sys_bpf(BPF_PROG_DETACH, &a);
	int e = errno;
	close(fd);
	errno = e;
	return r < 0 && e != ENOENT ? -1 : 0;
}

static int open_cgroup(napi_env env, napi_value v, char **path)
{
	if (arg_string(env, v, path, 0))
		return -1;
	int cg = open(*path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		throw_errno(env, errno, "open", *path);
	return cg;
}

/* bpfReplaceCgroupDevice(cgroupDir, insns): load, attach (BPF_F_ALLOW_MULTI), then detach
 * what was there before, so the cgroup is never left without a device filter. */
napi_value bpf_replace_cgroup_device(napi_env env, napi_callback_info info)
{
	size_t argc = 2;
	napi_value argv[2], ret = NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 2)
		return throw_type(env, "bpfReplaceCgroupDevice(cgroupDir, insns)");
	char *path = NULL;
	void *insns;
	size_t len;
	int cg = -1, prog = -1;
	uint32_t ids[MAX_PROGS], count = 0, flags = 0;
	if (arg_buffer(env, argv[1], &insns, &len))
		return NULL;
	if (len == 0 || len % sizeof(struct bpf_insn))
		return throw_type(env, "insns must be whole 8-byte BPF instructions");
	if ((cg = open_cgroup(env, argv[0], &path)) < 0)
		goto out;
	if (query(cg, ids, &count, &flags) < 0) {
		throw_errno(env, errno, "bpf prog query", path);
		goto out;
	}
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)insns;
	a.insn_cnt = (uint32_t)(len / sizeof(struct bpf_insn));
	/* Only GPL-only helpers care about the license; device programs call none. */
	a.license = (uint64_t)(uintptr_t)"Apache-2.0";
	prog = sys_bpf(BPF_PROG_LOAD, &a);
	if (prog < 0) {
		/* Load again with the verifier's log, so the caller can see why. */
		int e = errno;
		static char log[16384];
		log[0] = 0;
		a.log_buf = (uint64_t)(uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		int again = sys_bpf(BPF_PROG_LOAD, &a);
		if (again >= 0)
			close(again);
		napi_value err = make_errno_error(env, e, "bpf prog load", path), text;
		napi_create_string_utf8(env, log, NAPI_AUTO_LENGTH, &text);
		napi_set_named_property(env, err, "verifierLog", text);
		napi_throw(env, err);
		goto out;
	}
	/* A program attached without ALLOW_MULTI cannot share the cgroup: remove it first. */
	int multi = flags & BPF_F_ALLOW_MULTI;
	if (count && !multi)
		for (uint32_t i = 0; i < count; i++)
			if (detach_id(cg, ids[i]) < 0) {
				throw_errno(env, errno, "bpf prog detach", path);
				goto out;
			}
	memset(&a, 0, sizeof(a));
	a.target_fd = cg;
	a.attach_bpf_fd = prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
		throw_errno(env, errno, "bpf prog attach", path);
		goto out;
	}
	if (count && multi)
		for (uint32_t i = 0; i < count; i++)
			if (detach_id(cg, ids[i]) < 0) {
				throw_errno(env, errno, "bpf prog detach", path);
				goto out;
			}
	napi_get_undefined(env, &ret);
out:
	if (prog >= 0)
		close(prog);
	if (cg >= 0)
		close(cg);
	free(path);
	return ret;
}

/* bpfQueryCgroupDevice(cgroupDir): ids of the device programs attached there. */
napi_value bpf_query_cgroup_device(napi_env env, napi_callback_info info)
{
	size_t argc = 1;
	napi_value argv[1], ret = NULL;
	napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
	if (argc < 1)
		return throw_type(env, "bpfQueryCgroupDevice(cgroupDir)");
	char *path = NULL;
	uint32_t ids[MAX_PROGS], count = 0, flags = 0;
	int cg = open_cgroup(env, argv[0], &path);
	if (cg < 0)
		goto out;
	if (query(cg, ids, &count, &flags) < 0) {
		throw_errno(env, errno, "bpf prog query", path);
		goto out;
	}
	napi_create_array(env, &ret);
	for (uint32_t i = 0; i < count; i++) {
		napi_value v;
		napi_create_uint32(env, ids[i], &v);
		napi_set_element(env, ret, i, v);
	}
out:
	if (cg >= 0)
		close(cg);
	free(path);
	return ret;
}
