/*
 * libsipnat - monotonic timers (binary min-heap, intrusive).
 */
#include "config.h"

#include "core/timer.h"

#include <errno.h>
#include <stdlib.h>

void sn_timer_init(sn_timer *t, sn_timer_cb cb, void *arg)
{
    t->due = 0;
    t->seq = 0;
    t->index = SN_TIMER_IDLE;
    t->cb = cb;
    t->arg = arg;
}

static bool before(const sn_timer *a, const sn_timer *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void place(sn_timer_heap *h, size_t i, sn_timer *t)
{
    h->v[i] = t;
    t->index = i;
}

static void sift_up(sn_timer_heap *h, size_t i)
{
    sn_timer *t = h->v[i];

    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(t, h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, t);
}

static void sift_down(sn_timer_heap *h, size_t i)
{
    sn_timer *t = h->v[i];

    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sn_timer *best = t;
        if (l < h->n && before(h->v[l], best)) {
            m = l;
            best = h->v[l];
        }
        if (r < h->n && before(h->v[r], best))
            m = r;
        if (m == i)
            break;
        place(h, i, h->v[m]);
        i = m;
    }
    place(h, i, t);
}

void sn_timer_heap_stop(sn_timer_heap *h, sn_timer *t)
{
    size_t i = t->index;

    if (i == SN_TIMER_IDLE)
        return;
    t->index = SN_TIMER_IDLE;
    if (i == --h->n)
        return;
    sn_timer *moved = h->v[h->n];
    place(h, i, moved);
    sift_up(h, i);
    sift_down(h, moved->index);
}

int sn_timer_heap_arm(sn_timer_heap *h, sn_timer *t, uint64_t due)
{
    sn_timer_heap_stop(h, t);
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        sn_timer **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    t->due = due;
    t->seq = h->seq++;
    place(h, h->n++, t);
    sift_up(h, t->index);
    return 0;
}

uint64_t sn_timer_heap_next(const sn_timer_heap *h)
{
    return h->n ? h->v[0]->due : UINT64_MAX;
}

unsigned sn_timer_heap_run(sn_timer_heap *h, uint64_t now, unsigned max)
{
    unsigned fired = 0;

    while (fired < max && h->n && h->v[0]->due <= now) {
        sn_timer *t = h->v[0];
        sn_timer_heap_stop(h, t);
        fired++;
        t->cb(t, t->arg);
    }
    return fired;
}

void sn_timer_heap_free(sn_timer_heap *h)
{
    for (size_t i = 0; i < h->n; i++)
        h->v[i]->index = SN_TIMER_IDLE;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
