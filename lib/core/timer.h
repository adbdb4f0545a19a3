/*
 * libsipnat - the library's own timers: CLOCK_MONOTONIC deadlines in an
 * intrusive binary min-heap. A timer lives inside the object it serves
 * (no allocation per arm); arming only grows the heap's array.
 * sofia-sip's timers run on CLOCK_REALTIME and its loop asserts on large
 * wall-clock jumps, so nothing of ours is scheduled through sofia.
 */
#ifndef SIPNAT_CORE_TIMER_H
#define SIPNAT_CORE_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_TIMER_IDLE SIZE_MAX

typedef struct sn_timer sn_timer;
typedef void (*sn_timer_cb)(sn_timer *timer, void *arg);

struct sn_timer {
    uint64_t due;      /* usec, CLOCK_MONOTONIC */
    uint64_t seq;      /* arming order: equal deadlines fire FIFO */
    size_t index;      /* position in the heap, SN_TIMER_IDLE if not armed */
    sn_timer_cb cb;
    void *arg;
};

typedef struct sn_timer_heap {
    sn_timer **v;
    size_t n;
    size_t cap;
    uint64_t seq;
} sn_timer_heap;

void sn_timer_init(sn_timer *t, sn_timer_cb cb, void *arg);
static inline bool sn_timer_armed(const sn_timer *t) { return t->index != SN_TIMER_IDLE; }

/* (Re)arm for an absolute deadline. 0 or -ENOMEM (the timer stays idle). */
int sn_timer_heap_arm(sn_timer_heap *h, sn_timer *t, uint64_t due);
void sn_timer_heap_stop(sn_timer_heap *h, sn_timer *t);
/* Earliest deadline, or UINT64_MAX. */
uint64_t sn_timer_heap_next(const sn_timer_heap *h);
/* Fire every timer due at `now` (callbacks may arm and stop timers,
 * including the one firing). At most `max` of them; returns how many. */
unsigned sn_timer_heap_run(sn_timer_heap *h, uint64_t now, unsigned max);
void sn_timer_heap_free(sn_timer_heap *h);

#endif
