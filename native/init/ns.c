/* Namespaces, the SYNC handshake and the fork into the container's pid namespace. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
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

int op_fork(const struct op *op)
{
	uint64_t mode;
	if (want_args(op, 1, 1) < 0 || want_u64(op, 0, &mode) < 0)
		return -1;
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
	pid_t pid = fork();
	if (pid < 0)
		return fail(errno, "fork");
	if (pid == 0) {
		for (size_t i = 0; i < NUM_FORWARDED; i++)
			signal(forwarded_signals[i], SIG_DFL);
		if (wait_mode) {
			close(execp[0]);
			st.exec_pipe = execp[1];
		}
		return 0;
	}
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
