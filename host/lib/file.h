/*
 * Whole files and directories: the one reader of a whole file (logs, CSV, job files, /proc,
 * QEMU's output), its writers, and the temporary directories the host makes.
 */
#ifndef KVMIO_HOST_LIB_FILE_H
#define KVMIO_HOST_LIB_FILE_H
#include <stddef.h>
#include <stdio.h>

/* The whole file (malloc'd, NUL-terminated; *len without the NUL when len is not NULL), or
 * NULL with errno set. Reads to the end, so /proc files and pipes work too. */
char *file_read(const char *path, size_t *len);
/* The same from an open stream (stdin, a pipe); NULL with errno set. */
char *file_read_stream(FILE *f, size_t *len);
/* The first line of a file, without its newline, into buf; 0, or -1 (buf "") if unreadable. */
int file_read_line(const char *path, char *buf, size_t size);

/* Write len bytes to path (created or truncated); 0, or -1 with errno. */
int file_write(const char *path, const void *data, size_t len);
/* Replace path by text at once: written to PATH.tmp, then renamed; 0, or -1 with errno. */
int file_replace(const char *path, const char *text);
/* Copy a file; 0, or -1 with errno. */
int file_copy(const char *from, const char *to);

/* 1 if path exists (any kind); file_exists: a regular file. */
int path_exists(const char *path);
int file_exists(const char *path);

/* mkdir -p; 0, or -1 with errno. */
int dir_make_all(const char *path);
/* A fresh directory under $TMPDIR (or /tmp): kvmio.XXXXXX, malloc'd; NULL with errno. */
char *dir_make_temp(void);
/* rm -rf (NULL and "" do nothing). */
void dir_remove_tree(const char *path);

#endif
