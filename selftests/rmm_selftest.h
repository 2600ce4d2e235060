/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The rmm authors.
 *
 * Helpers shared by rmm's kselftests: checks every driver's device gets
 * (root only, unload refused while in use) and small file helpers.
 */
#ifndef RMM_SELFTEST_H
#define RMM_SELFTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* A counter of /proc/vmstat, or 0. */
static inline unsigned long vmstat(const char *name)
{
	char line[256];
	size_t n = strlen(name);
	unsigned long v = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtoul(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Writes s to a sysfs or procfs file; returns 0 or -errno. */
static inline int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Reads a small file into buf; returns 0 or -errno. */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	return 0;
}

/*
 * Opens path as user nobody in a child: returns 0 if that fails with
 * EACCES (the device is root only), 1 if it does not, 2 if the child could
 * not drop its privileges.
 */
static inline int nonroot_open_refused(const char *path)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(2);
		_exit(open(path, O_RDWR) < 0 && errno == EACCES ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 2;
	return WEXITSTATUS(status);
}

/* Whether unloading the module is refused because it is in use. */
static inline int unload_refused(const char *module)
{
	return syscall(SYS_delete_module, module, O_NONBLOCK) == -1 &&
	       (errno == EWOULDBLOCK || errno == EBUSY);
}

#endif /* RMM_SELFTEST_H */
