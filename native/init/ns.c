/* Namespaces, the SYNC handshake, the fork into the container's pid namespace (and
 * cgroup), and the loopback of a new network namespace. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <net/if.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int op_unshare(const struct op *op)
{
	uint64_t flags;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &flags) < 0)
		return -1;
	if (unshare((int)flags) < 0)
		return fail(errno, "unshare");
	return 0;
}

int op_setns(const struct op *op)
{
	uint64_t nstype;
	char *path;
	if (want_args(op, 2, 2) < 0 || want_u64(op, 0, &nstype) < 0 || want_str(op, 1, &path) < 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", path);
	if (setns(fd, (int)nstype) < 0) {
		int e = errno;
		close(fd);
		return fail(e, "setns %s", path);
	}
	close(fd);
	return 0;
}

int op_sync(const struct op *op)
{
	(void)op;
	uint32_t index = st.index;
	if (send_frame(MSG_SYNC, &index, 4, NULL, 0) < 0)
		return fail(errno, "sync: send");
	return wait_continue();
}

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT };
#define NUM_FORWARDED (sizeof(forwarded_signals) / sizeof(forwarded_signals[0]))

/* clone3's argument block up to `cgroup` (CLONE_ARGS_SIZE_VER2); spelled out here
 * because glibc's and the kernel's sched.h clash. */
struct clone_args_v2 {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL

/* "0" into a cgroup file: the calling single-threaded process moves itself (for v1
 * `tasks`, without the kernel's global lock: see src/plan/cgroup-join.ts). */
static int join_self(const char *file)
{
	int fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open %s", file);
	ssize_t w = write(fd, "0", 1);
	int e = errno;
	close(fd);
	if (w != 1)
		return fail(w < 0 ? e : EIO, "write %s", file);
	return 0;
}

/* fork(), with the child born in `cgroup2_dir` when one is given. The raw clone3 skips
 * glibc's fork bookkeeping: the child's cached thread id is the parent's, so nothing in
 * the init may use raise(), abort() or pthread calls (none does; the init is one thread). */
static pid_t fork_into(const char *cgroup2_dir)
{
	if (!cgroup2_dir || !*cgroup2_dir) {
		pid_t pid = fork();
		return pid < 0 ? fail(errno, "fork") : pid;
	}
	int cg = open(cgroup2_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return fail(errno, "open cgroup %s", cgroup2_dir);
	struct clone_args_v2 args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP_FLAG;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cg;
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	int e = errno;
	close(cg);
	if (pid >= 0)
		return pid;
	if (e != ENOSYS && e != E2BIG && e != EINVAL)
		return fail(e, "fork into cgroup %s", cgroup2_dir);
	/* Before Linux 5.7: join first (the slow way), then fork. */
	char procs[4096];
	if (snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup2_dir) >= (int)sizeof(procs))
		return fail(ENAMETOOLONG, "cgroup %s", cgroup2_dir);
	if (join_self(procs) < 0)
		return -1;
	pid_t pid2 = fork();
	return pid2 < 0 ? fail(errno, "fork") : pid2;
}

#define MAX_LEAVE_FILES 32

int op_fork(const struct op *op)
{
	uint64_t mode;
	char *cgroup2_dir = NULL;
	if (want_args(op, 1, 2 + MAX_LEAVE_FILES) < 0 || want_u64(op, 0, &mode) < 0)
		return -1;
	if (op->argc > 1 && want_str(op, 1, &cgroup2_dir) < 0)
		return -1;
	for (uint32_t i = 2; i < op->argc; i++) {
		char *f;
		if (want_str(op, i, &f) < 0)
			return -1;
	}
	int wait_mode = mode == 1;
	/* A waiting parent must outlive its child: Node signals the child directly, and a
	 * terminal's SIGINT must not take the parent (and the exit status) away first. */
	if (wait_mode)
		for (size_t i = 0; i < NUM_FORWARDED; i++)
			signal(forwarded_signals[i], SIG_IGN);
	/* WAIT: a close-on-exec pipe tells the parent when the child has exec'd, since the
	 * parent's own copy of the socket keeps the host from seeing that. */
	int execp[2] = { -1, -1 };
	if (wait_mode && pipe2(execp, O_CLOEXEC) < 0)
		return fail(errno, "pipe");
	pid_t pid = fork_into(cgroup2_dir);
	if (pid < 0) {
		if (wait_mode) {
			close(execp[0]);
			close(execp[1]);
		}
		return -1;
	}
	if (pid == 0) {
		for (size_t i = 0; i < NUM_FORWARDED; i++)
			signal(forwarded_signals[i], SIG_DFL);
		if (wait_mode) {
			close(execp[0]);
			st.exec_pipe = execp[1];
		}
		return 0;
	}
	/* The waiting parent goes back to the runtime's cgroups, so that the container's
	 * cgroups count only the container's processes. Accounting only: best effort. */
	if (wait_mode)
		for (uint32_t i = 2; i < op->argc; i++)
			join_self(op->args[i].s);
	int32_t p = pid;
	if (send_frame(MSG_PID, &p, 4, NULL, 0) < 0 && !wait_mode)
		_exit(1);
	if (!wait_mode)
		_exit(0);
	close(execp[1]);
	char c;
	while (read(execp[0], &c, 1) < 0 && errno == EINTR)
		;
	close(execp[0]);
	send_frame(MSG_STARTED, NULL, 0, NULL, 0);
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			send_error_and_exit(st.index, errno, "waitpid", 1);
	}
	int32_t s = status;
	send_frame(MSG_EXIT, &s, 4, NULL, 0);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int op_timens_offsets(const struct op *op)
{
	char *content;
	if (want_args(op, 1, 1) < 0 || want_str(op, 0, &content) < 0)
		return -1;
	int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(errno, "open /proc/self/timens_offsets");
	ssize_t w = write(fd, content, op->args[0].len);
	int e = errno;
	close(fd);
	if (w != (ssize_t)op->args[0].len)
		return fail(w < 0 ? e : EIO, "write /proc/self/timens_offsets");
	return 0;
}

/* A new network namespace has `lo` down; bring it up as runc and crun do. */
int op_loopback_up(const struct op *op)
{
	if (want_args(op, 0, 0) < 0)
		return -1;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(errno, "bring up lo: socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
	int r = ioctl(s, SIOCGIFFLAGS, &ifr);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	int e = errno;
	close(s);
	return r < 0 ? fail(e, "bring up lo") : 0;
}
