/*
 * libarchive, loaded at first use (as systemd loads it): only a command that reads or
 * writes a snapshot archive maps it and the libraries it brings (libxml2, ICU, the
 * compressors). Its calls go through ml_la; the types are libarchive's own headers'.
 */
#ifndef MEMLEDGER_LIBARCHIVE_H
#define MEMLEDGER_LIBARCHIVE_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

/* The libarchive calls memledger makes, filled by ml_libarchive_load. */
struct ml_libarchive {
	void *handle;
	__typeof__(archive_entry_filetype) *archive_entry_filetype;
	__typeof__(archive_entry_free) *archive_entry_free;
	__typeof__(archive_entry_new) *archive_entry_new;
	__typeof__(archive_entry_pathname) *archive_entry_pathname;
	__typeof__(archive_entry_set_filetype) *archive_entry_set_filetype;
	__typeof__(archive_entry_set_mtime) *archive_entry_set_mtime;
	__typeof__(archive_entry_set_pathname) *archive_entry_set_pathname;
	__typeof__(archive_entry_set_perm) *archive_entry_set_perm;
	__typeof__(archive_entry_set_size) *archive_entry_set_size;
	__typeof__(archive_entry_set_symlink) *archive_entry_set_symlink;
	__typeof__(archive_entry_size) *archive_entry_size;
	__typeof__(archive_entry_size_is_set) *archive_entry_size_is_set;
	__typeof__(archive_entry_symlink) *archive_entry_symlink;
	__typeof__(archive_errno) *archive_errno;
	__typeof__(archive_error_string) *archive_error_string;
	__typeof__(archive_filter_bytes) *archive_filter_bytes;
	__typeof__(archive_filter_code) *archive_filter_code;
	__typeof__(archive_filter_count) *archive_filter_count;
	__typeof__(archive_read_data) *archive_read_data;
	__typeof__(archive_read_data_skip) *archive_read_data_skip;
	__typeof__(archive_read_free) *archive_read_free;
	__typeof__(archive_read_new) *archive_read_new;
	__typeof__(archive_read_next_header) *archive_read_next_header;
	__typeof__(archive_read_open_fd) *archive_read_open_fd;
	__typeof__(archive_read_support_filter_all) *archive_read_support_filter_all;
	__typeof__(archive_read_support_format_gnutar) *archive_read_support_format_gnutar;
	__typeof__(archive_read_support_format_tar) *archive_read_support_format_tar;
	__typeof__(archive_write_add_filter) *archive_write_add_filter;
	__typeof__(archive_write_close) *archive_write_close;
	__typeof__(archive_write_data) *archive_write_data;
	__typeof__(archive_write_free) *archive_write_free;
	__typeof__(archive_write_header) *archive_write_header;
	__typeof__(archive_write_new) *archive_write_new;
	__typeof__(archive_write_open_fd) *archive_write_open_fd;
	__typeof__(archive_write_set_bytes_in_last_block) *archive_write_set_bytes_in_last_block;
	__typeof__(archive_write_set_filter_option) *archive_write_set_filter_option;
	__typeof__(archive_write_set_format_gnutar) *archive_write_set_format_gnutar;
};

extern struct ml_libarchive ml_la;

/* Loads libarchive once (thread-safe). Returns 0, or -ELIBACC with why in err (the
 * library or a symbol is missing). */
int ml_libarchive_load(char *err, size_t errlen);

#endif
