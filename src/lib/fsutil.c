#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define TMP_TAG ".tmp."

static int
is_regular(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

struct mdas_atomic {
	FILE *fp;
	char *final_path;
	char *tmp_path;
};

void
mdas_dirname(const char *path, char *buf, size_t n)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		snprintf(buf, n, ".");
	else if (slash == path)
		snprintf(buf, n, "/");
	else
		snprintf(buf, n, "%.*s", (int)(slash - path), path);
}

struct mdas_atomic *
mdas_atomic_open(const char *final_path, struct mdas_error *err)
{
	struct mdas_atomic *a;
	const char *base;
	char dir[4096];
	size_t n;
	int fd;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		goto nomem;
	base = strrchr(final_path, '/');
	base = base != NULL ? base + 1 : final_path;
	mdas_dirname(final_path, dir, sizeof(dir));
	n = strlen(dir) + strlen(base) + 64;
	if ((a->final_path = strdup(final_path)) == NULL ||
	    (a->tmp_path = malloc(n)) == NULL)
		goto nomem;
	snprintf(a->tmp_path, n, "%s/.%s" TMP_TAG "%ld.XXXXXX", dir, base, (long)getpid());
	if ((fd = mkstemp(a->tmp_path)) < 0) {
		mdas_error_errno(err, errno, "%s: cannot create a file in %s", final_path, dir);
		free(a->tmp_path);
		a->tmp_path = NULL;
		mdas_atomic_abort(a);
		return NULL;
	}
	if ((a->fp = fdopen(fd, "w")) == NULL) {
		mdas_error_errno(err, errno, "%s", a->tmp_path);
		close(fd);
		mdas_atomic_abort(a);
		return NULL;
	}
	return a;
nomem:
	mdas_error_errno(err, ENOMEM, "%s", final_path);
	mdas_atomic_abort(a);
	return NULL;
}

FILE *
mdas_atomic_fp(struct mdas_atomic *a)
{
	return a->fp;
}

const char *
mdas_atomic_tmp_path(const struct mdas_atomic *a)
{
	return a->tmp_path;
}

const char *
mdas_atomic_final_path(const struct mdas_atomic *a)
{
	return a->final_path;
}

void
mdas_atomic_abort(struct mdas_atomic *a)
{
	if (a == NULL)
		return;
	if (a->fp != NULL)
		fclose(a->fp);
	if (a->tmp_path != NULL)
		unlink(a->tmp_path);
	free(a->tmp_path);
	free(a->final_path);
	free(a);
}

static mode_t
file_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

int
mdas_atomic_commit(struct mdas_atomic *a, int overwrite, struct mdas_error *err)
{
	char dir[4096];
	int fd, rc;

	fd = fileno(a->fp);
	if (fflush(a->fp) != 0 || ferror(a->fp)) {
		mdas_error_errno(err, errno ? errno : EIO, "%s: write failed", a->final_path);
		goto fail;
	}
	if (fsync(fd) != 0) {
		mdas_error_errno(err, errno, "%s: fsync failed", a->final_path);
		goto fail;
	}
	if (fchmod(fd, file_mode()) != 0) {
		mdas_error_errno(err, errno, "%s: chmod failed", a->final_path);
		goto fail;
	}
	rc = fclose(a->fp);
	a->fp = NULL;
	if (rc != 0) {
		mdas_error_errno(err, errno, "%s: close failed", a->final_path);
		goto fail;
	}
	if (overwrite)
		rc = rename(a->tmp_path, a->final_path);
	else {
		/* link() fails with EEXIST instead of replacing, atomically. */
		rc = link(a->tmp_path, a->final_path);
		if (rc == 0)
			unlink(a->tmp_path);
	}
	if (rc != 0) {
		if (errno == EEXIST)
			mdas_error_errno(err, errno, "%s: will not overwrite", a->final_path);
		else
			mdas_error_errno(err, errno, "%s: cannot move into place", a->final_path);
		goto fail;
	}
	mdas_dirname(a->final_path, dir, sizeof(dir));
	free(a->tmp_path);
	a->tmp_path = NULL;
	mdas_atomic_abort(a);
	return mdas_fsync_dir(dir, err);
fail:
	mdas_atomic_abort(a);
	return -1;
}

int
mdas_write_file_atomic(const char *path, const void *data, size_t len,
    struct mdas_error *err)
{
	struct mdas_atomic *a;

	if ((a = mdas_atomic_open(path, err)) == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, mdas_atomic_fp(a)) != len) {
		mdas_error_errno(err, errno, "%s: write failed", path);
		mdas_atomic_abort(a);
		return -1;
	}
	return mdas_atomic_commit(a, 1, err);
}

int
mdas_mkdir_p(const char *path, mode_t mode, struct mdas_error *err)
{
	char buf[4096], *p;
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return mdas_error_set(err, "%s: path too long", path);
	for (p = buf + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return mdas_error_errno(err, errno, "%s: cannot create directory", buf);
		*p = c;
		if (c == '\0')
			break;
	}
	if (stat(path, &st) != 0)
		return mdas_error_errno(err, errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return mdas_error_set(err, "%s: not a directory", path);
	return 0;
}

int
mdas_fsync_dir(const char *dir, struct mdas_error *err)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return mdas_error_errno(err, errno, "%s", dir);
	rc = fsync(fd);
	/* Some file systems cannot fsync a directory; that is not our failure. */
	if (rc != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP) {
		mdas_error_errno(err, errno, "%s: fsync failed", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
mdas_remove_stale_temps(const char *dir, struct mdas_error *err)
{
	struct dirent *de;
	const char *tag;
	struct stat st;
	DIR *d;
	long pid;
	char *end;
	int removed = 0;

	if ((d = opendir(dir)) == NULL)
		return mdas_error_errno(err, errno, "%s", dir);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || (tag = strstr(de->d_name, TMP_TAG)) == NULL)
			continue;
		pid = strtol(tag + strlen(TMP_TAG), &end, 10);
		/* Exactly the shape mdas_atomic_open() gives (mkstemp's six
		 * characters last): a directory we write into may be a user's,
		 * where another program's ".notes.tmp.123.swp" is not ours. */
		if (pid <= 0 || *end != '.' || strlen(end + 1) != 6 ||
		    strspn(end + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != 6 ||
		    mdas_pid_alive(pid))
			continue;
		/* Only our own files: a name that merely looks like ours, a
		 * directory or another user's file is left alone. */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !(S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) || st.st_uid != getuid())
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

int
mdas_open_regular_at(int dfd, const char *name, int flags, mode_t mode, int *not_regular)
{
	int fd, fl, e;

	if (not_regular != NULL)
		*not_regular = 0;
	fd = openat(dfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, mode);
	if (fd < 0) {
		/* A FIFO without a reader, opened for writing. */
		if (errno == ENXIO && not_regular != NULL)
			*not_regular = 1;
		return -1;
	}
	if (!is_regular(fd)) {
		close(fd);
		if (not_regular != NULL)
			*not_regular = 1;
		errno = EINVAL;
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int
mdas_open_append(const char *path, struct mdas_error *err)
{
	int fd, not_regular;

	fd = mdas_open_regular_at(AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT, 0666,
	    &not_regular);
	if (fd < 0) {
		if (not_regular)
			return mdas_error_set(err, "%s: not a regular file", path);
		if (errno == ELOOP)
			return mdas_error_set(err, "%s: is a symbolic link; will not write through it",
			    path);
		return mdas_error_errno(err, errno, "%s: cannot open for appending", path);
	}
	return fd;
}

int
mdas_pid_alive(long pid)
{
	char path[64], buf[256], *paren;
	ssize_t n;
	int fd;

	if (pid <= 0 || pid > INT32_MAX)
		return 0;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return 0;
	/* A zombie (killed, not yet reaped by its new parent) still answers
	 * kill(2) but can write nothing more: what it left is stale.  Where
	 * /proc cannot tell, the process counts as alive. */
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	/* "PID (COMM) STATE ...": COMM may hold spaces and parentheses. */
	if ((paren = strrchr(buf, ')')) == NULL || paren[1] != ' ')
		return 1;
	return paren[2] != 'Z';
}

int
mdas_lock_acquire(const char *path, int wait, struct mdas_error *err)
{
	int fd, not_regular;

	/* Never through a symlink planted at the name (which would make us
	 * create or lock a file somewhere else), never waiting on a FIFO. */
	if ((fd = mdas_open_regular_at(AT_FDCWD, path, O_RDWR | O_CREAT, 0666,
	    &not_regular)) < 0) {
		if (not_regular)
			return mdas_error_set(err, "%s: lock file is not a regular file", path);
		return mdas_error_errno(err, errno, "%s: cannot open lock file", path);
	}
	while (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK) {
			mdas_error_set(err, "%s: locked by another process", path);
			if (err != NULL)
				err->errnum = EWOULDBLOCK;
		} else
			mdas_error_errno(err, errno, "%s: cannot lock", path);
		close(fd);
		return -1;
	}
	return fd;
}

void
mdas_lock_release(int fd)
{
	if (fd >= 0)
		close(fd);
}
