/* carton-init: start-up hardening, then run the plan op by op. Decides nothing. */
#include "init.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

struct state st = { .sock = -1, .rootfd = -1, .fifofd = -1, .console_sock = -1, .agent_sock = -1, .exec_pipe = -1 };
int fail_errno;
char fail_msg[512];

int fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fail_msg, sizeof(fail_msg), fmt, ap);
	va_end(ap);
	fail_errno = err;
	return -1;
}

void send_error_and_exit(uint32_t index, int err, const char *msg, int code)
{
	unsigned char head[8];
	int32_t e = err;
	memcpy(head, &index, 4);
	memcpy(head + 4, &e, 4);
	if (st.sock >= 0)
		send_frame(MSG_ERROR, head, 8, msg, strlen(msg));
	_exit(code);
}

#define CARTON_MFD_EXEC 0x0010U /* MFD_EXEC; glibc 2.36 headers lack it */
#define REQUIRED_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* CVE-2019-5736: run from a sealed anonymous copy so that nothing in a container can
 * reach (and overwrite) the host binary through /proc/<pid>/exe. */
static void reexec_from_sealed_memfd(char **argv, char **envp)
{
	int exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (exe < 0)
		send_error_and_exit(NO_OP_INDEX, errno, "open /proc/self/exe", 1);
	int seals = fcntl(exe, F_GET_SEALS);
	if (seals >= 0 && (seals & REQUIRED_SEALS) == REQUIRED_SEALS) {
		close(exe);
		return;
	}
	/* With vm.memfd_noexec=1 a memfd is only executable when asked for (MFD_EXEC, Linux 6.3);
	 * older kernels reject the flag. */
	int mfd = memfd_create("carton-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | CARTON_MFD_EXEC);
	if (mfd < 0 && errno == EINVAL)
		mfd = memfd_create("carton-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		send_error_and_exit(NO_OP_INDEX, errno, "memfd_create", 1);
	struct stat sb;
	if (fstat(exe, &sb) < 0)
		send_error_and_exit(NO_OP_INDEX, errno, "stat /proc/self/exe", 1);
	off_t left = sb.st_size;
	while (left > 0) {
		ssize_t n = sendfile(mfd, exe, NULL, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			send_error_and_exit(NO_OP_INDEX, n < 0 ? errno : EIO, "copy /proc/self/exe", 1);
		left -= n;
	}
	close(exe);
	if (fcntl(mfd, F_ADD_SEALS, REQUIRED_SEALS) < 0)
		send_error_and_exit(NO_OP_INDEX, errno, "seal memfd", 1);
	fexecve(mfd, argv, envp);
	send_error_and_exit(NO_OP_INDEX, errno, "fexecve memfd", 1);
}

typedef int (*op_fn)(const struct op *);

static const op_fn handlers[] = {
	[1] = op_unshare, [2] = op_setns, [3] = op_sync, [4] = op_fork, [5] = op_timens_offsets,
	[6] = op_console_socket, [7] = op_open_fifo, [8] = op_set_root, [9] = op_mount,
	[10] = op_mount_setattr, [11] = op_mknod, [12] = op_symlink, [13] = op_mkdir,
	[14] = op_pivot_root, [15] = op_move_root, [16] = op_mask_path, [17] = op_readonly_path,
	[18] = op_write_file, [19] = op_sethostname, [20] = op_setdomainname, [21] = op_setrlimit,
	[22] = op_umask, [23] = op_set_user, [24] = op_caps, [25] = op_no_new_privs,
	[26] = op_seccomp, [27] = op_console, [28] = op_setsid, [29] = op_chdir,
	[30] = op_close_fds, [31] = op_ready, [32] = op_wait_start, [33] = op_lookup,
	[34] = op_exec, [35] = op_personality, [36] = op_set_dumpable, [37] = NULL,
	[38] = op_listener_socket, [39] = op_loopback_up, [40] = op_program,
};
#define NUM_HANDLERS (sizeof(handlers) / sizeof(handlers[0]))

int main(int argc, char **argv, char **envp)
{
	(void)argc;
	const char *fdenv = getenv("CARTON_INIT_FD");
	char *end = NULL;
	long fd = fdenv ? strtol(fdenv, &end, 10) : -1;
	if (!fdenv || *end || fd < 3 || fd > 65535) {
		fprintf(stderr, "carton-init: run by carton-runtime only (CARTON_INIT_FD not set)\n");
		return 2;
	}
	st.sock = (int)fd;
	if (fcntl(st.sock, F_GETFD) < 0) {
		fprintf(stderr, "carton-init: bad CARTON_INIT_FD\n");
		return 2;
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	reexec_from_sealed_memfd(argv, envp);
	/* Only now: the socket must survive the fexecve above. */
	fcntl(st.sock, F_SETFD, FD_CLOEXEC);
	umask(0);
	signal(SIGPIPE, SIG_IGN);

	uint32_t type, len, count;
	char *payload;
	struct op *ops;
	if (read_frame(&type, &payload, &len) < 0)
		send_error_and_exit(NO_OP_INDEX, fail_errno, fail_msg, 1);
	if (type != MSG_PLAN)
		send_error_and_exit(NO_OP_INDEX, EPROTO, "protocol: expected a plan", 1);
	if (parse_plan(payload, len, &ops, &count) < 0)
		send_error_and_exit(NO_OP_INDEX, fail_errno, fail_msg, 1);

	for (uint32_t i = 0; i < count; i++) {
		st.index = i;
		uint32_t code = ops[i].code;
		if (code == 37)
			continue; /* NOTE: no effect */
		op_fn fn = code < NUM_HANDLERS ? handlers[code] : NULL;
		if (!fn)
			send_error_and_exit(i, EINVAL, "protocol: unknown op code", 1);
		if (fn(&ops[i]) < 0)
			send_error_and_exit(i, fail_errno, fail_msg, 1);
	}
	/* A plan without EXEC ends here: the process exits quietly. */
	return 0;
}
