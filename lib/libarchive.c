/* libarchive, loaded at first use: see memledger/libarchive.h. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include "memledger/libarchive.h"
#include "util.h"

struct ml_libarchive ml_la;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int ml_libarchive_load(char *err, size_t errlen)
{
	static const struct {
		const char *name;
		void **addr;
	} syms[] = {
	    {"archive_entry_filetype", (void **)&ml_la.archive_entry_filetype},
	    {"archive_entry_free", (void **)&ml_la.archive_entry_free},
	    {"archive_entry_new", (void **)&ml_la.archive_entry_new},
	    {"archive_entry_pathname", (void **)&ml_la.archive_entry_pathname},
	    {"archive_entry_set_filetype", (void **)&ml_la.archive_entry_set_filetype},
	    {"archive_entry_set_mtime", (void **)&ml_la.archive_entry_set_mtime},
	    {"archive_entry_set_pathname", (void **)&ml_la.archive_entry_set_pathname},
	    {"archive_entry_set_perm", (void **)&ml_la.archive_entry_set_perm},
	    {"archive_entry_set_size", (void **)&ml_la.archive_entry_set_size},
	    {"archive_entry_set_symlink", (void **)&ml_la.archive_entry_set_symlink},
	    {"archive_entry_size", (void **)&ml_la.archive_entry_size},
	    {"archive_entry_size_is_set", (void **)&ml_la.archive_entry_size_is_set},
	    {"archive_entry_symlink", (void **)&ml_la.archive_entry_symlink},
	    {"archive_errno", (void **)&ml_la.archive_errno},
	    {"archive_error_string", (void **)&ml_la.archive_error_string},
	    {"archive_filter_bytes", (void **)&ml_la.archive_filter_bytes},
	    {"archive_filter_code", (void **)&ml_la.archive_filter_code},
	    {"archive_filter_count", (void **)&ml_la.archive_filter_count},
	    {"archive_read_data", (void **)&ml_la.archive_read_data},
	    {"archive_read_data_skip", (void **)&ml_la.archive_read_data_skip},
	    {"archive_read_free", (void **)&ml_la.archive_read_free},
	    {"archive_read_new", (void **)&ml_la.archive_read_new},
	    {"archive_read_next_header", (void **)&ml_la.archive_read_next_header},
	    {"archive_read_open_fd", (void **)&ml_la.archive_read_open_fd},
	    {"archive_read_support_filter_all", (void **)&ml_la.archive_read_support_filter_all},
	    {"archive_read_support_format_gnutar", (void **)&ml_la.archive_read_support_format_gnutar},
	    {"archive_read_support_format_tar", (void **)&ml_la.archive_read_support_format_tar},
	    {"archive_write_add_filter", (void **)&ml_la.archive_write_add_filter},
	    {"archive_write_close", (void **)&ml_la.archive_write_close},
	    {"archive_write_data", (void **)&ml_la.archive_write_data},
	    {"archive_write_free", (void **)&ml_la.archive_write_free},
	    {"archive_write_header", (void **)&ml_la.archive_write_header},
	    {"archive_write_new", (void **)&ml_la.archive_write_new},
	    {"archive_write_open_fd", (void **)&ml_la.archive_write_open_fd},
	    {"archive_write_set_bytes_in_last_block",
	     (void **)&ml_la.archive_write_set_bytes_in_last_block},
	    {"archive_write_set_filter_option", (void **)&ml_la.archive_write_set_filter_option},
	    {"archive_write_set_format_gnutar", (void **)&ml_la.archive_write_set_format_gnutar},
	};
	static const char *const sonames[] = {"libarchive.so.13", "libarchive.so"};
	void *h = NULL;
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (ml_la.handle)
		goto out;
	for (size_t i = 0; i < ML_ARRAY_SIZE(sonames) && !h; i++)
		h = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen,
		         "reading or writing a snapshot archive needs %s (Debian "
		         "package libarchive13): %s",
		         sonames[0], dlerror());
		rc = -ELIBACC;
		goto out;
	}
	for (size_t i = 0; i < ML_ARRAY_SIZE(syms); i++) {
		*syms[i].addr = dlsym(h, syms[i].name);
		if (!*syms[i].addr) {
			snprintf(err, errlen, "%s lacks %s: too old a version", sonames[0],
			         syms[i].name);
			dlclose(h);
			rc = -ELIBACC;
			goto out;
		}
	}
	ml_la.handle = h;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}
