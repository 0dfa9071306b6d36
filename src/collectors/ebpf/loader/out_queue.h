/* The loader's stdout through a writer thread: what the loader prints is queued in memory and
 * written to the fd by the thread, so a reader that falls behind (driad parsing a snapshot) does
 * not stop the loader reading the ring buffer and the count log, whose rings would fill meanwhile.
 * Past `max_bytes` queued, printing waits for the reader like a plain pipe would. */
#ifndef DRIAD_OUT_QUEUE_H
#define DRIAD_OUT_QUEUE_H

#include <stddef.h>
#include <stdio.h>

/* A FILE whose writes go to the queue; NULL (errno set) on failure. A write fails (EPIPE) once the
 * fd has failed: the reader is gone. */
FILE *out_queue_open(int fd, size_t max_bytes);
/* Flushes, lets the thread write what is queued (or fail), and closes. 0, or -1 when not all of
 * it was written. */
int out_queue_close(FILE *f);

#endif
