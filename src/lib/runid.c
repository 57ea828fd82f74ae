#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "runid.h"
#include "timeutil.h"

#define COUNTER_FILE "runid.counter"
#define LOCK_FILE "runid.lock"

/* The largest counter a file may hold: the next one still fits a signed
 * 64-bit integer (shell arithmetic, most readers). */
#define COUNTER_MAX ((uint64_t)INT64_MAX - 1)

/* Counter file: "<counter> <id>\n", exactly as mdas_runid_next() writes
 * it.  The counter is a plain decimal (digits only, no sign, no leading
 * zero) up to COUNTER_MAX: sscanf's %u would take "-1" as 2^64-1 and the
 * next allocation would wrap to 0. */
static int
read_state(const char *path, uint64_t *counter, char *id, struct mdas_error *err)
{
	char line[128], *sp, *end;
	uint64_t c = 0;
	size_t n, i;
	FILE *fp;
	int fd, not_regular;

	*counter = 0;
	id[0] = '\0';
	/* Never through a symbolic link (the counter is ours, in state_dir),
	 * never waiting on a FIFO planted at the name. */
	if ((fd = mdas_open_regular_at(AT_FDCWD, path, O_RDONLY, 0, &not_regular)) < 0) {
		if (not_regular)
			return mdas_error_set(err, "%s: not a regular file", path);
		if (errno == ENOENT)
			return 1;
		if (errno == ELOOP)
			return mdas_error_set(err, "%s: is a symbolic link; will not read through it",
			    path);
		return mdas_error_errno(err, errno, "%s", path);
	}
	if ((fp = fdopen(fd, "r")) == NULL) {
		close(fd);
		return mdas_error_errno(err, errno, "%s", path);
	}
	n = fread(line, 1, sizeof(line) - 1, fp);
	if (ferror(fp)) {
		fclose(fp);
		return mdas_error_errno(err, errno ? errno : EIO, "%s: read error", path);
	}
	fclose(fp);
	if (n == 0)
		return mdas_error_set(err, "%s: empty or unreadable counter file", path);
	line[n] = '\0';
	if (n == sizeof(line) - 1 || memchr(line, '\0', n) != NULL ||
	    (sp = strchr(line, ' ')) == NULL)
		goto corrupt;
	*sp = '\0';
	end = sp + 1 + strcspn(sp + 1, "\n");
	if (*end == '\n' && end[1] != '\0')
		goto corrupt;   /* more than one line */
	*end = '\0';
	if (!mdas_runid_valid(sp + 1))
		goto corrupt;
	if (line[0] == '\0' || strspn(line, "0123456789") != strlen(line) ||
	    (line[0] == '0' && line[1] != '\0'))
		return mdas_error_set(err,
		    "%s: corrupt counter file: the counter is not a plain decimal number", path);
	for (i = 0; line[i] != '\0'; i++) {
		unsigned d = (unsigned)(line[i] - '0');

		if (c > (COUNTER_MAX - d) / 10)
			return mdas_error_set(err,
			    "%s: corrupt counter file: the counter is larger than %" PRIu64,
			    path, COUNTER_MAX);
		c = c * 10 + d;
	}
	*counter = c;
	snprintf(id, MDAS_RUNID_MAX, "%s", sp + 1);
	return 0;
corrupt:
	return mdas_error_set(err, "%s: corrupt counter file (expected \"COUNTER ID\")", path);
}

static void
format_id(char *id, int64_t secs, uint64_t counter)
{
	char iso[MDAS_ISO_MAX];

	mdas_format_iso_ms(secs * 1000, iso);
	/* 2026-11-23T10:15:00.000Z -> 20261123T101500Z */
	snprintf(id, MDAS_RUNID_MAX, "%.4s%.2s%.2sT%.2s%.2s%.2sZ-%06" PRIu64,
	    iso, iso + 5, iso + 8, iso + 11, iso + 14, iso + 17, counter);
}

int
mdas_runid_next(const char *state_dir, char *id, uint64_t *counter_out,
    struct mdas_error *err)
{
	char path[4096], lock[4096], last[MDAS_RUNID_MAX], line[128];
	uint64_t counter;
	int64_t secs, last_secs = 0;
	int fd, rc, len;

	if (mdas_mkdir_p(state_dir, 0777, err) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/" COUNTER_FILE, state_dir);
	snprintf(lock, sizeof(lock), "%s/" LOCK_FILE, state_dir);
	if ((fd = mdas_lock_acquire(lock, 1, err)) < 0)
		return -1;
	if ((rc = read_state(path, &counter, last, err)) < 0)
		goto out;
	secs = mdas_now_ms() / 1000;
	if (rc == 0) {
		int y, mo, d, h, mi, s;
		if (sscanf(last, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &s) == 6)
			last_secs = mdas_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
			    h * 3600 + mi * 60 + s;
	}
	if (secs < last_secs)
		secs = last_secs;
	counter++;
	format_id(id, secs, counter);
	/* A wider counter in the same second would sort before the last ID. */
	if (rc == 0 && strcmp(id, last) <= 0)
		format_id(id, last_secs + 1, counter);
	len = snprintf(line, sizeof(line), "%" PRIu64 " %s\n", counter, id);
	rc = mdas_write_file_atomic(path, line, (size_t)len, err);
	if (rc == 0 && counter_out != NULL)
		*counter_out = counter;
out:
	mdas_lock_release(fd);
	return rc < 0 ? -1 : 0;
}

int
mdas_runid_current(const char *state_dir, char *id, struct mdas_error *err)
{
	char path[4096];
	uint64_t counter;

	snprintf(path, sizeof(path), "%s/" COUNTER_FILE, state_dir);
	return read_state(path, &counter, id, err);
}

int
mdas_runid_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= 64 && strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}
