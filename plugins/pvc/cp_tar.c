/* The tar in which pvc cp sends a batch of small files: one stream, one
 * `tar -x` in the pod, instead of a put and a process or three per file
 * (plugins/pvc/pvc-cp.sh, "batch"). */
#include "cp_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

static la_ssize_t to_strbuf(struct archive *a, void *ud, const void *buf, size_t len)
{
	(void)a;
	strbuf_add(ud, buf, len);
	return (la_ssize_t)len;
}

/* The whole file into buf (its listed size, which is small), or -1 with
 * errno; *changed when it is not the file that was listed. */
static int read_whole(struct cp_tar_file *f, struct strbuf *buf, int *changed)
{
	int fd = open(f->local, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	strbuf_reset(buf);
	strbuf_grow(buf, (size_t)f->size + 1);
	size_t got = 0;
	ssize_t r = 0;
	while (got <= f->size) { /* one byte more than listed: it grew */
		r = read(fd, buf->buf + got, (size_t)f->size + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	struct stat st;
	int e = errno;
	if (r < 0 || fstat(fd, &st) < 0) {
		close(fd);
		errno = r < 0 ? e : errno;
		return -1;
	}
	close(fd);
	buf->len = got < f->size ? got : (size_t)f->size;
	*changed = got != f->size || (uint64_t)st.st_size != f->size || st.st_mtim.tv_sec != f->mtime.tv_sec ||
		   st.st_mtim.tv_nsec != f->mtime.tv_nsec;
	return 0;
}

int cp_tar_build(struct cp_tar_file *f, size_t n, struct strbuf *out)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	struct strbuf data = STRBUF_INIT;
	int rc = -1;
	if (!a || !ae || archive_write_set_format_gnutar(a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(a, 512) != ARCHIVE_OK ||
	    archive_write_open(a, out, NULL, to_strbuf, NULL) != ARCHIVE_OK)
		goto fail;
	time_t now = time(NULL);
	for (size_t i = 0; i < n; i++) {
		f[i].changed = f[i].err = 0;
		f[i].sha256[0] = '\0';
		if (read_whole(&f[i], &data, &f[i].changed) < 0) {
			f[i].err = errno ? errno : EIO;
			continue;
		}
		if (f[i].changed)
			continue;
		sha256_hex(data.buf ? data.buf : "", data.len, f[i].sha256);
		archive_entry_clear(ae);
		archive_entry_set_pathname(ae, f[i].rel);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, f[i].mode & 0777);
		archive_entry_set_size(ae, (la_int64_t)data.len);
		archive_entry_set_uid(ae, 0);
		archive_entry_set_gid(ae, 0);
		archive_entry_set_mtime(ae, now, 0);
		if (archive_write_header(a, ae) != ARCHIVE_OK ||
		    (data.len && archive_write_data(a, data.buf, data.len) != (la_ssize_t)data.len))
			goto fail;
	}
	if (archive_write_close(a) != ARCHIVE_OK)
		goto fail;
	rc = 0;
	goto out;
fail:
	eidf_set_error("cannot make the tar of a batch: %s", a && archive_error_string(a) ? archive_error_string(a)
										      : "libarchive failed");
out:
	archive_entry_free(ae);
	if (a)
		archive_write_free(a);
	strbuf_release(&data);
	return rc;
}

int cp_tar_each(const void *buf, size_t len, int (*fn)(void *ctx, const char *name, const void *data, size_t n),
		void *ctx)
{
	struct archive *a = archive_read_new();
	struct strbuf data = STRBUF_INIT;
	int rc = -1;
	if (!a || archive_read_support_format_tar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, buf, len) != ARCHIVE_OK)
		goto fail;
	struct archive_entry *ae;
	int r;
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK) {
		if (archive_entry_filetype(ae) != AE_IFREG)
			continue;
		la_int64_t size = archive_entry_size(ae);
		if (size < 0 || (uint64_t)size > len)
			goto fail;
		strbuf_reset(&data);
		strbuf_grow(&data, (size_t)size + 1);
		la_ssize_t got = size ? archive_read_data(a, data.buf, (size_t)size) : 0;
		if (got != size)
			goto fail;
		data.len = (size_t)size;
		int f = fn(ctx, archive_entry_pathname(ae), data.buf, data.len);
		if (f) {
			rc = f;
			goto out;
		}
	}
	if (r != ARCHIVE_EOF)
		goto fail;
	rc = 0;
	goto out;
fail:
	eidf_set_error("the files came in a damaged tar: %s",
		       a && archive_error_string(a) ? archive_error_string(a) : "cannot read it");
	rc = -1;
out:
	if (a)
		archive_read_free(a);
	strbuf_release(&data);
	return rc;
}
