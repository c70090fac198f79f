/* Seccomp filter loading and the container's console (pty). */
#include "init.h"
#include "../common/scm.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

int op_seccomp(const struct op *op)
{
	uint64_t flags;
	char *program;
	if (want_args(op, 2, 2) < 0 || want_u64(op, 0, &flags) < 0 || want_str(op, 1, &program) < 0)
		return -1;
	uint32_t len = op->args[1].len;
	if (len == 0 || len % sizeof(struct sock_filter) || len / sizeof(struct sock_filter) > 0xffff)
		return fail(EINVAL, "seccomp: bad program length");
	struct sock_fprog prog = { .len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)program };
	int want_listener = (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) != 0;
	if (want_listener && st.agent_sock < 0)
		return fail(EINVAL, "seccomp: listener requested without a listener socket");
	int r = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)flags, &prog);
	if (r < 0)
		return fail(errno, "seccomp");
	if (!want_listener)
		return 0;
	/* The agent gets the notify fd with the container state (last CONTINUE payload). */
	if (send_fd(st.agent_sock, r, st.cont_payload, st.cont_len) < 0)
		return fail(errno, "send seccomp listener fd");
	close(r);
	close(st.agent_sock);
	st.agent_sock = -1;
	return 0;
}

int op_console(const struct op *op)
{
	uint64_t rows, cols;
	if (want_args(op, 2, 2) < 0 || want_u64(op, 0, &rows) < 0 || want_u64(op, 1, &cols) < 0)
		return -1;
	if (st.console_sock < 0)
		return fail(EINVAL, "console: no console socket");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return fail(errno, "open /dev/ptmx");
	int unlock = 0;
	unsigned int ptn;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return fail(errno, "unlockpt");
	if (ioctl(master, TIOCGPTN, &ptn) < 0)
		return fail(errno, "ptsname");
	/* The slave straight from the master: no path lookup in /dev/pts to race with. */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		return fail(errno, "open pty slave");
	if (rows || cols) {
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (ioctl(master, TIOCSWINSZ, &ws) < 0)
			return fail(errno, "set console size");
	}
	/* Only a new container (SET_ROOT ran) gets /dev/console; exec must not cover the
	 * console of the container it joins. */
	int cfd;
	if (st.rootfd < 0) {
		/* exec: nothing to bind */
	} else if (resolve_target("/dev/console", TARGET_IN_ROOT, &cfd) == 0) {
		char src[64], dst[64];
		fd_path(src, slave);
		fd_path(dst, cfd);
		int r = mount(src, dst, NULL, MS_BIND, NULL);
		int e = errno;
		close(cfd);
		if (r < 0)
			return fail(e, "bind console on /dev/console");
	} else if (fail_errno != ENOENT) {
		return -1;
	}
	char name[32];
	snprintf(name, sizeof(name), "/dev/pts/%u", ptn);
	if (send_fd(st.console_sock, master, name, strlen(name)) < 0)
		return fail(errno, "send console master");
	close(master);
	close(st.console_sock);
	st.console_sock = -1;
	if (setsid() < 0 && errno != EPERM)
		return fail(errno, "setsid");
	if (ioctl(slave, TIOCSCTTY, 0) < 0)
		return fail(errno, "set controlling terminal");
	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			return fail(errno, "dup2 console");
	if (slave > 2)
		close(slave);
	return 0;
}
