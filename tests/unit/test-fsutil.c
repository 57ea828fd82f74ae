/* Unit tests for atomic files, stale temporaries and locks. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"
#include "tap.h"

static int
exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static const char *
path_msg(const char *p)
{
	static char buf[600];

	snprintf(buf, sizeof(buf), "%s: is a symbolic link; will not write through it", p);
	return buf;
}

/* True once pid is a zombie (exited, not reaped), as /proc says. */
static int
zombie(pid_t pid)
{
	char path[64], buf[256], *p;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'Z';
}

int
main(void)
{
	char dir[] = "/tmp/mdas-fsutil-XXXXXX", path[512], stale[512], deep[512];
	struct mdas_atomic *a;
	struct mdas_error err;
	int fd, fd2;
	FILE *fp;

	tap_plan(28);
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/out.csv", dir);

	a = mdas_atomic_open(path, &err);
	tap_ok(a != NULL, "temporary created");
	fputs("a,b\n", mdas_atomic_fp(a));
	tap_ok(!exists(path), "nothing under the final name while writing");
	tap_ok(exists(mdas_atomic_tmp_path(a)), "temporary exists");
	tap_is_int(mdas_atomic_commit(a, 0, &err), 0, "commit");
	tap_ok(exists(path), "final file present after commit");

	a = mdas_atomic_open(path, &err);
	fputs("other\n", mdas_atomic_fp(a));
	tap_is_int(mdas_atomic_commit(a, 0, &err), -1, "no overwrite without permission");
	tap_is_int(err.errnum, EEXIST, "EEXIST reported");
	fp = fopen(path, "r");
	fgets(stale, sizeof(stale), fp);
	fclose(fp);
	tap_is_str(stale, "a,b\n", "existing file untouched");

	a = mdas_atomic_open(path, &err);
	mdas_atomic_abort(a);
	tap_is_int(mdas_remove_stale_temps(dir, &err), 0, "abort left no temporary");

	/* PID 2^22+1 is above Linux's pid_max default: no such process. */
	snprintf(stale, sizeof(stale), "%s/.out.csv.tmp.4194305.abcdef", dir);
	fclose(fopen(stale, "w"));
	tap_is_int(mdas_remove_stale_temps(dir, &err), 1, "stale temporary of a dead writer removed");

	snprintf(deep, sizeof(deep), "%s/a/b/c", dir);
	tap_is_int(mdas_mkdir_p(deep, 0777, &err), 0, "mkdir -p");

	snprintf(path, sizeof(path), "%s/lock", dir);
	fd = mdas_lock_acquire(path, 0, &err);
	tap_ok(fd >= 0, "lock taken");
	fd2 = mdas_lock_acquire(path, 0, &err);
	tap_ok(fd2 < 0 && err.errnum == EWOULDBLOCK, "second lock refused at once");
	mdas_lock_release(fd);
	fd2 = mdas_lock_acquire(path, 0, &err);
	tap_ok(fd2 >= 0, "lock free after release");
	mdas_lock_release(fd2);

	/* Symbolic links planted at names we create are never followed. */
	snprintf(stale, sizeof(stale), "%s/outside", dir);
	snprintf(path, sizeof(path), "%s/planted.lock", dir);
	tap_is_int(symlink(stale, path), 0, "plant a link to a missing file");
	fd = mdas_lock_acquire(path, 0, &err);
	tap_ok(fd < 0, "a lock through a symbolic link is refused");
	tap_ok(!exists(stale), "and creates nothing where it points");
	snprintf(path, sizeof(path), "%s/planted.log", dir);
	tap_is_int(symlink(stale, path), 0, "plant a log link");
	fd = mdas_open_append(path, &err);
	tap_ok(fd < 0, "appending through a symbolic link is refused");
	tap_is_str(err.msg, path_msg(path), "and says why");
	tap_ok(!exists(stale), "nothing created where it points");
	snprintf(path, sizeof(path), "%s/real.log", dir);
	fd = mdas_open_append(path, &err);
	tap_ok(fd >= 0 && write(fd, "x\n", 2) == 2, "appending to a new regular file");
	close(fd);
	fd = mdas_open_append(dir, &err);
	tap_ok(fd < 0, "appending to a directory is refused");

	/* The stale cleaner leaves a directory with a temporary's name alone. */
	snprintf(stale, sizeof(stale), "%s/.x.tmp.4194305.dirabc", dir);
	mkdir(stale, 0700);
	tap_is_int(mdas_remove_stale_temps(dir, &err), 0, "a directory is not a stale temporary");
	tap_ok(exists(stale), "and is still there");

	/* A writer killed but not yet reaped (a zombie) has left for good. */
	{
		pid_t child = fork();

		if (child == 0)
			_exit(0);
		tap_ok(mdas_pid_alive((long)getpid()), "this process is alive");
		while (child > 0 && !zombie(child))
			usleep(1000);
		tap_ok(child > 0 && !mdas_pid_alive((long)child), "a zombie is not alive");
		snprintf(stale, sizeof(stale), "%s/.y.tmp.%ld.abcdef", dir, (long)child);
		fp = fopen(stale, "w");
		if (fp != NULL)
			fclose(fp);
		tap_is_int(mdas_remove_stale_temps(dir, &err), 1,
		    "a zombie's temporary is stale");
		waitpid(child, NULL, 0);
	}
	return tap_done();
}
