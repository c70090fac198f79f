/* Process attributes: files, names, limits, credentials, capabilities, fds. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int op_write_file(const struct op *op)
{
	char *path, *content;
	if (want_args(op, 2, 2) < 0 || want_str(op, 0, &path) < 0 || want_str(op, 1, &content) < 0)
		return -1;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", path);
	size_t len = op->args[1].len, done = 0;
	while (done < len) {
		ssize_t w = write(fd, content + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : EIO;
			close(fd);
			return fail(e, "write %s", path);
		}
		done += w;
	}
	close(fd);
	return 0;
}

int op_sethostname(const struct op *op)
{
	char *name;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &name) < 0)
		return -1;
	if (sethostname(name, op->args[0].len) < 0)
		return fail(errno, "sethostname");
	return 0;
}

int op_setdomainname(const struct op *op)
{
	char *name;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &name) < 0)
		return -1;
	if (setdomainname(name, op->args[0].len) < 0)
		return fail(errno, "setdomainname");
	return 0;
}

int op_setrlimit(const struct op *op)
{
	uint64_t res, soft, hard;
	if (want_args(op, 3, 3) < 0 || want_u64(op, 0, &res) < 0 || want_u64(op, 1, &soft) < 0 || want_u64(op, 2, &hard) < 0)
		return -1;
	struct rlimit64 rl = { .rlim_cur = soft, .rlim_max = hard };
	if (prlimit64(0, (int)res, &rl, NULL) < 0)
		return fail(errno, "setrlimit");
	return 0;
}

int op_umask(const struct op *op)
{
	uint64_t mask;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &mask) < 0)
		return -1;
	umask((mode_t)(mask & 07777));
	st.umask_set = 1;
	return 0;
}

int op_set_user(const struct op *op)
{
	uint64_t uid, gid, setgr;
	if (want_args(op, 3, 65536 + 3) < 0 || want_u64(op, 0, &uid) < 0 || want_u64(op, 1, &gid) < 0 ||
	    want_u64(op, 2, &setgr) < 0)
		return -1;
	/* Keep the permitted set across the uid change; CAPS sets the final sets. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return fail(errno, "prctl keepcaps");
	if (setgr) {
		size_t n = op->argc - 3;
		gid_t *groups = calloc(n ? n : 1, sizeof(gid_t));
		if (!groups)
			return fail(ENOMEM, "malloc");
		for (size_t i = 0; i < n; i++) {
			uint64_t g;
			if (want_u64(op, 3 + i, &g) < 0)
				return -1;
			groups[i] = (gid_t)g;
		}
		int r = setgroups(n, groups);
		free(groups);
		if (r < 0)
			return fail(errno, "setgroups");
	}
	if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) < 0)
		return fail(errno, "setresgid");
	if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0)
		return fail(errno, "setresuid");
	return 0;
}

static int capset3(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[2] = {
		{ .effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh },
		{ .effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32) },
	};
	return (int)syscall(SYS_capset, &h, d);
}

int op_caps(const struct op *op)
{
	uint64_t bnd, eff, perm, inh, amb;
	if (want_args(op, 5, 5) < 0 || want_u64(op, 0, &bnd) < 0 || want_u64(op, 1, &eff) < 0 ||
	    want_u64(op, 2, &perm) < 0 || want_u64(op, 3, &inh) < 0 || want_u64(op, 4, &amb) < 0)
		return -1;
	/* After SET_USER the effective set is empty: raise it to what is permitted so that
	 * CAP_SETPCAP is there to shrink the bounding set. */
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct cur[2];
	if (syscall(SYS_capget, &h, cur) < 0)
		return fail(errno, "capget");
	uint64_t cur_perm = cur[0].permitted | ((uint64_t)cur[1].permitted << 32);
	uint64_t cur_inh = cur[0].inheritable | ((uint64_t)cur[1].inheritable << 32);
	if (capset3(cur_perm, cur_perm, cur_inh) < 0)
		return fail(errno, "capset");
	/* Up to the last cap this kernel knows (PR_CAPBSET_READ fails past cap_last_cap). */
	for (int cap = 0; cap < 64; cap++) {
		int in_set = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
		if (in_set < 0)
			break;
		/* Dropping needs CAP_SETPCAP even for a cap already gone: only touch present ones. */
		if (in_set == 1 && !(bnd & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return fail(errno, "drop bounding capability %d", cap);
	}
	if (capset3(eff, perm, inh) < 0)
		return fail(errno, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return fail(errno, "clear ambient capabilities");
	/* The kernel raises an ambient cap only when it is permitted and inheritable too; runc's
	 * own `runc spec` lists ambient caps without inheritable ones and runc runs it with none
	 * raised, so those are skipped here rather than failing the container. */
	uint64_t raisable = amb & perm & inh;
	for (int cap = 0; cap < 64; cap++)
		if ((raisable & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			return fail(errno, "raise ambient capability %d", cap);
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return fail(errno, "prctl keepcaps");
	return 0;
}

int op_no_new_privs(const struct op *op)
{
	(void)op;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(errno, "prctl no_new_privs");
	return 0;
}

int op_personality(const struct op *op)
{
	uint64_t domain;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &domain) < 0)
		return -1;
	if (personality((unsigned long)domain) < 0)
		return fail(errno, "personality");
	return 0;
}

int op_set_dumpable(const struct op *op)
{
	uint64_t v;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &v) < 0)
		return -1;
	if (prctl(PR_SET_DUMPABLE, v ? 1 : 0, 0, 0, 0) < 0)
		return fail(errno, "prctl dumpable");
	return 0;
}

int op_setsid(const struct op *op)
{
	(void)op;
	if (setsid() < 0)
		return fail(errno, "setsid");
	return 0;
}

int op_chdir(const struct op *op)
{
	char *path;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &path) < 0)
		return -1;
	if (chdir(path) < 0)
		return fail(errno, "chdir %s", path);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every inherited fd from `first` up. The init's own fds stay open (they are all
 * close-on-exec), so later ops still work and EXEC drops them. */
int op_close_fds(const struct op *op)
{
	uint64_t first;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &first) < 0)
		return -1;
	int keep[6] = { st.sock, st.rootfd, st.fifofd, st.console_sock, st.agent_sock, st.exec_pipe };
	int n = 6;
	qsort(keep, n, sizeof(int), cmp_int);
	unsigned int from = (unsigned int)first;
	for (int i = 0; i < n; i++) {
		if (keep[i] < 0 || (unsigned int)keep[i] < from)
			continue;
		if ((unsigned int)keep[i] > from && syscall(SYS_close_range, from, keep[i] - 1, 0) < 0)
			return fail(errno, "close_range");
		from = keep[i] + 1;
	}
	if (syscall(SYS_close_range, from, ~0U, 0) < 0)
		return fail(errno, "close_range");
	return 0;
}
