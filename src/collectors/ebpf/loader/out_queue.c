#define _GNU_SOURCE
#include "out_queue.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

struct out_queue {
	int fd;
	size_t max_bytes, queued;
	struct chunk *head, *tail;
	int closing, failed;
	pthread_mutex_t lock;
	pthread_cond_t data, space;
	pthread_t writer;
};

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *writer_main(void *arg)
{
	struct out_queue *q = arg;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->head && !q->closing)
			pthread_cond_wait(&q->data, &q->lock);
		struct chunk *c = q->head;
		if (!c)
			break; /* closing, and everything written */
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
		pthread_mutex_unlock(&q->lock);
		int err = q->failed ? -1 : write_all(q->fd, c->data, c->len);
		pthread_mutex_lock(&q->lock);
		if (err)
			q->failed = 1;
		q->queued -= c->len;
		free(c);
		pthread_cond_broadcast(&q->space);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

static ssize_t queue_write(void *cookie, const char *buf, size_t size)
{
	struct out_queue *q = cookie;
	struct chunk *c = malloc(sizeof(*c) + size);
	if (!c)
		return -1;
	memcpy(c->data, buf, size);
	c->len = size;
	c->next = NULL;
	pthread_mutex_lock(&q->lock);
	while (!q->failed && q->queued && q->queued + size > q->max_bytes)
		pthread_cond_wait(&q->space, &q->lock);
	if (q->failed) {
		pthread_mutex_unlock(&q->lock);
		free(c);
		errno = EPIPE;
		return -1;
	}
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
	q->queued += size;
	pthread_cond_signal(&q->data);
	pthread_mutex_unlock(&q->lock);
	return (ssize_t)size;
}

static int queue_close(void *cookie)
{
	struct out_queue *q = cookie;
	pthread_mutex_lock(&q->lock);
	q->closing = 1;
	pthread_cond_signal(&q->data);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->writer, NULL);
	int failed = q->failed;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->data);
	pthread_cond_destroy(&q->space);
	free(q);
	return failed ? -1 : 0;
}

FILE *out_queue_open(int fd, size_t max_bytes)
{
	struct out_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->fd = fd;
	q->max_bytes = max_bytes;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->data, NULL);
	pthread_cond_init(&q->space, NULL);
	/* The writer takes no signals: the loader's stop signals stay for its signalfd. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&q->writer, NULL, writer_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(q);
		errno = err;
		return NULL;
	}
	cookie_io_functions_t io = {.write = queue_write, .close = queue_close};
	FILE *f = fopencookie(q, "w", io);
	if (!f) {
		queue_close(q);
		return NULL;
	}
	return f;
}

int out_queue_close(FILE *f)
{
	return fclose(f);
}
