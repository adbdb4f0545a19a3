/*
 * libsipnat - an ICE agent without I/O of its own (see agent.h).
 */
#include "ice/agent.h"

#include "core/addr.h"
#include "stun/message.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum pair_state {
    P_WAITING = 0,
    P_IN_PROGRESS,
    P_SUCCEEDED,
    P_FAILED,
} pair_state;

typedef enum check_kind {
    C_NONE = 0,
    C_ORDINARY,  /* a connectivity check */
    C_NOMINATE,  /* with USE-CANDIDATE (we control) */
    C_CONSENT,   /* RFC 7675 on the selected pair */
} check_kind;

typedef struct local {
    sn_ice_cand cand;
    int base;
} local;

typedef struct pair {
    int l, r;            /* indexes into locals, remotes */
    uint64_t prio;
    pair_state st;
    bool valid;
    bool nominated;      /* selected for its component */
    bool peer_nominated; /* the controlling peer sent USE-CANDIDATE */
    check_kind kind;     /* the check in flight */
    uint8_t key[SN_STUN_KEY_LEN];
    unsigned tries;
    uint64_t next_tx;    /* its retransmission */
    bool triggered;      /* queued for a triggered check */
} pair;

struct sn_ice_agent {
    sn_ice_cfg cfg;
    char ufrag[SN_ICE_CRED_MAX + 1], pwd[SN_ICE_CRED_MAX + 1];
    char rufrag[SN_ICE_CRED_MAX + 1], rpwd[SN_ICE_CRED_MAX + 1];
    char check_user[2 * SN_ICE_CRED_MAX + 2]; /* "RFRAG:LFRAG" */
    bool controlling;
    sn_ice_stun *stun;
    local locals[SN_ICE_MAX_LOCAL];
    size_t n_locals;
    sn_ice_cand remotes[SN_ICE_MAX_REMOTE];
    size_t n_remotes;
    pair pairs[SN_ICE_MAX_PAIRS];
    size_t n_pairs;
    bool started;
    sn_ice_state state;
    uint64_t started_at, next_check, first_valid_at;
    int selected[3];     /* per component (1, 2): a pair index, or -1 */
    uint64_t consent_next, consent_ok;
    uint64_t rng;
    sn_ice_stats st;
};

/* -- helpers ------------------------------------------------------------ */

static unsigned random_below(sn_ice_agent *a, unsigned n)
{
    a->rng ^= a->rng << 13;
    a->rng ^= a->rng >> 7;
    a->rng ^= a->rng << 17;
    return n ? (unsigned)(a->rng % n) : 0;
}

static bool same_endpoint(const sn_addr *addr, uint16_t port, const struct sockaddr *sa)
{
    sn_addr b;
    int p;

    return sn_addr_from_sockaddr(sa, &b, &p) == 0 && p == port && sn_addr_equal(addr, &b);
}

/* RFC 8445 6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0). */
static uint64_t pair_priority(const sn_ice_agent *a, const pair *p)
{
    uint64_t l = a->locals[p->l].cand.priority, r = a->remotes[p->r].priority;
    uint64_t g = a->controlling ? l : r, d = a->controlling ? r : l;

    return ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

static void reprioritize(sn_ice_agent *a)
{
    for (size_t i = 0; i < a->n_pairs; i++)
        a->pairs[i].prio = pair_priority(a, &a->pairs[i]);
}

static unsigned component_of(const sn_ice_agent *a, const pair *p)
{
    return a->locals[p->l].cand.component;
}

static int add_pair(sn_ice_agent *a, int l, int r)
{
    for (size_t i = 0; i < a->n_pairs; i++)
        if (a->locals[a->pairs[i].l].base == a->locals[l].base && a->pairs[i].r == r)
            return (int)i; /* the same base and remote: one pair */
    if (a->n_pairs == SN_ICE_MAX_PAIRS)
        return -E2BIG;
    pair *p = &a->pairs[a->n_pairs];
    memset(p, 0, sizeof *p);
    p->l = l;
    p->r = r;
    p->prio = pair_priority(a, p);
    return (int)a->n_pairs++;
}

/* Our candidate for the pairs of `base` and `component`: the host or
 * relayed candidate on that base (never a server-reflexive one). */
static int local_for_base(const sn_ice_agent *a, int base, unsigned component)
{
    for (size_t i = 0; i < a->n_locals; i++)
        if (a->locals[i].base == base && a->locals[i].cand.component == component &&
            a->locals[i].cand.type != SN_ICE_SRFLX)
            return (int)i;
    return -1;
}

/* -- life --------------------------------------------------------------- */

int sn_ice_agent_new(sn_ice_agent **ret, const sn_ice_cfg *cfg)
{
    sn_ice_agent *a;
    int r;

    *ret = NULL;
    if (!cfg || !cfg->send || !sn_ice_ufrag_valid(cfg->ufrag) ||
        !sn_ice_pwd_valid(cfg->pwd))
        return -EINVAL;
    a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    if ((r = sn_ice_stun_new(&a->stun)) < 0) {
        free(a);
        return r;
    }
    a->cfg = *cfg;
    snprintf(a->ufrag, sizeof a->ufrag, "%s", cfg->ufrag);
    snprintf(a->pwd, sizeof a->pwd, "%s", cfg->pwd);
    a->cfg.ufrag = a->ufrag;
    a->cfg.pwd = a->pwd;
    a->controlling = cfg->controlling;
    a->rng = cfg->tie_breaker | 1;
    a->selected[0] = a->selected[1] = a->selected[2] = -1;
    *ret = a;
    return 0;
}

void sn_ice_agent_free(sn_ice_agent *a)
{
    if (!a)
        return;
    sn_ice_stun_free(a->stun);
    free(a);
}

int sn_ice_add_local(sn_ice_agent *a, const sn_ice_cand *c, int base)
{
    if (!a || !c || base < 0 || c->component < 1 || c->component > 2 || a->started)
        return -EINVAL;
    if (a->n_locals == SN_ICE_MAX_LOCAL)
        return -E2BIG;
    a->locals[a->n_locals].cand = *c;
    a->locals[a->n_locals].base = base;
    a->n_locals++;
    return 0;
}

int sn_ice_set_remote_credentials(sn_ice_agent *a, const char *ufrag, const char *pwd)
{
    if (!a || !sn_ice_ufrag_valid(ufrag) || !sn_ice_pwd_valid(pwd))
        return -EINVAL;
    snprintf(a->rufrag, sizeof a->rufrag, "%s", ufrag);
    snprintf(a->rpwd, sizeof a->rpwd, "%s", pwd);
    snprintf(a->check_user, sizeof a->check_user, "%s:%s", a->rufrag, a->ufrag);
    return 0;
}

static int remote_index(sn_ice_agent *a, const sn_ice_cand *c)
{
    for (size_t i = 0; i < a->n_remotes; i++)
        if (a->remotes[i].component == c->component && a->remotes[i].port == c->port &&
            sn_addr_equal(&a->remotes[i].addr, &c->addr))
            return (int)i;
    return -1;
}

/* Pair every local base of the remote's component and family with it. */
static void pair_remote(sn_ice_agent *a, int r)
{
    for (size_t l = 0; l < a->n_locals; l++) {
        const sn_ice_cand *lc = &a->locals[l].cand;
        if (lc->type == SN_ICE_SRFLX || lc->component != a->remotes[r].component ||
            lc->addr.family != a->remotes[r].addr.family)
            continue;
        add_pair(a, (int)l, r);
    }
}

int sn_ice_add_remote(sn_ice_agent *a, const sn_ice_cand *c)
{
    int r;

    if (!a || !c || c->component < 1 || c->component > 2)
        return -EINVAL;
    if ((r = remote_index(a, c)) >= 0) {
        /* Known (maybe as peer-reflexive): the signalled one wins. */
        a->remotes[r] = *c;
        return 0;
    }
    if (a->n_remotes == SN_ICE_MAX_REMOTE)
        return -E2BIG;
    a->remotes[a->n_remotes] = *c;
    r = (int)a->n_remotes++;
    if (a->started)
        pair_remote(a, r);
    return 0;
}

int sn_ice_start(sn_ice_agent *a, uint64_t now)
{
    if (!a || !a->rpwd[0])
        return -EINVAL;
    if (a->started)
        return 0;
    for (size_t r = 0; r < a->n_remotes; r++)
        pair_remote(a, (int)r);
    a->started = true;
    a->started_at = now;
    a->next_check = now;
    a->state = SN_ICE_CHECKING;
    return a->n_pairs ? 0 : -ENOENT;
}

/* -- checks ------------------------------------------------------------- */

static void send_from(sn_ice_agent *a, int base, const sn_ice_cand *to, const uint8_t *buf,
                      size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sn_addr_to_sockaddr(&to->addr, to->port, &ss);

    if (sl)
        a->cfg.send(base, (const struct sockaddr *)&ss, buf, len, a->cfg.user_data);
}

static void send_check(sn_ice_agent *a, pair *p, check_kind kind, uint64_t now)
{
    uint8_t buf[256];
    /* PRIORITY: what a peer-reflexive candidate of ours would get
     * (RFC 8445 7.1.1). */
    uint32_t prio = sn_ice_priority(sn_ice_type_pref(SN_ICE_PRFLX), 65535,
                                    component_of(a, p));
    int n;

    if (p->kind != C_NONE)
        sn_ice_stun_forget(a->stun, p->key);
    n = sn_ice_stun_check(a->stun, buf, sizeof buf, a->check_user, a->rpwd,
                          kind == C_NOMINATE, a->controlling, prio, a->cfg.tie_breaker,
                          p->key);
    if (n < 0) {
        p->kind = C_NONE;
        return;
    }
    if (p->kind != kind)
        p->tries = 0;
    p->kind = kind;
    p->tries++;
    p->next_tx = now + ((uint64_t)SN_ICE_RTO_USEC << (p->tries - 1));
    if (kind == C_ORDINARY)
        p->st = P_IN_PROGRESS;
    a->st.checks_sent++;
    send_from(a, a->locals[p->l].base, &a->remotes[p->r], buf, (size_t)n);
}

static void check_failed(sn_ice_agent *a, pair *p)
{
    sn_ice_stun_forget(a->stun, p->key);
    if (p->kind == C_ORDINARY)
        p->st = P_FAILED;
    p->kind = C_NONE;
}

/* Every component that has a pair has a selected one (a peer with
 * rtcp-mux offers no RTCP candidates: component 2 then has no pair). */
static bool all_selected(const sn_ice_agent *a)
{
    bool any = false;

    for (unsigned c = 1; c <= 2; c++) {
        bool used = false;
        for (size_t i = 0; i < a->n_pairs; i++)
            used |= component_of(a, &a->pairs[i]) == c;
        if (!used)
            continue;
        if (a->selected[c] < 0)
            return false;
        any = true;
    }
    return any;
}

static void select_pair(sn_ice_agent *a, int i, uint64_t now)
{
    pair *p = &a->pairs[i];
    unsigned c = component_of(a, p);

    if (a->selected[c] == i)
        return;
    if (a->selected[c] >= 0)
        a->pairs[a->selected[c]].nominated = false;
    p->nominated = true;
    a->selected[c] = i;
    a->consent_ok = now;
    a->consent_next = now + SN_ICE_CONSENT_USEC * 4 / 5 +
                      random_below(a, SN_ICE_CONSENT_USEC * 2 / 5);
    if (all_selected(a))
        a->state = SN_ICE_CONNECTED;
}

/* The controlling side nominates the best valid pair of a component once
 * no better pair can still succeed, or after SN_ICE_NOMINATE_USEC. */
static void nominate(sn_ice_agent *a, uint64_t now)
{
    for (unsigned c = 1; c <= 2; c++) {
        int best = -1;
        bool pending_better = false, nominating = false;

        if (a->selected[c] >= 0)
            continue;
        for (size_t i = 0; i < a->n_pairs; i++) {
            const pair *p = &a->pairs[i];
            if (component_of(a, p) != c)
                continue;
            nominating |= p->kind == C_NOMINATE;
            if (p->valid && (best < 0 || p->prio > a->pairs[best].prio))
                best = (int)i;
        }
        if (best < 0 || nominating)
            continue;
        for (size_t i = 0; i < a->n_pairs; i++) {
            const pair *p = &a->pairs[i];
            if (component_of(a, p) == c && p->prio > a->pairs[best].prio &&
                (p->st == P_WAITING || p->st == P_IN_PROGRESS))
                pending_better = true;
        }
        if (!pending_better || now >= a->first_valid_at + SN_ICE_NOMINATE_USEC)
            send_check(a, &a->pairs[best], C_NOMINATE, now);
    }
}

uint64_t sn_ice_tick(sn_ice_agent *a, uint64_t now)
{
    uint64_t next = now + SN_ICE_CONSENT_USEC;

    if (!a || !a->started || a->state == SN_ICE_FAILED || a->state == SN_ICE_DISCONNECTED)
        return next;
    /* Retransmissions, and checks given up. */
    for (size_t i = 0; i < a->n_pairs; i++) {
        pair *p = &a->pairs[i];
        if (p->kind == C_NONE)
            continue;
        if (now >= p->next_tx) {
            if (p->tries >= SN_ICE_TRIES)
                check_failed(a, p);
            else
                send_check(a, p, p->kind, now);
        }
        if (p->kind != C_NONE && p->next_tx < next)
            next = p->next_tx;
    }
    if (a->state == SN_ICE_CHECKING) {
        /* One new check per Ta: a triggered one first, else the best
         * waiting pair. */
        if (now >= a->next_check) {
            int pick = -1;
            for (size_t i = 0; i < a->n_pairs; i++) {
                pair *p = &a->pairs[i];
                if (p->kind != C_NONE || p->st == P_SUCCEEDED || p->st == P_FAILED)
                    continue;
                if (pick < 0 || (p->triggered && !a->pairs[pick].triggered) ||
                    (p->triggered == a->pairs[pick].triggered && p->prio > a->pairs[pick].prio))
                    pick = (int)i;
            }
            if (pick >= 0) {
                a->pairs[pick].triggered = false;
                send_check(a, &a->pairs[pick], C_ORDINARY, now);
                a->next_check = now + SN_ICE_TA_USEC;
            }
        }
        if (a->controlling)
            nominate(a, now);
        bool alive = false;
        for (size_t i = 0; i < a->n_pairs; i++)
            alive |= a->pairs[i].st != P_FAILED || a->pairs[i].kind != C_NONE;
        if (!alive || now >= a->started_at + SN_ICE_TIMEOUT_USEC)
            a->state = SN_ICE_FAILED;
        if (a->next_check < next)
            next = a->next_check > now ? a->next_check : now + SN_ICE_TA_USEC;
    }
    if (a->state == SN_ICE_CONNECTED) {
        if (now >= a->consent_ok + SN_ICE_CONSENT_LOST_USEC) {
            a->state = SN_ICE_DISCONNECTED;
            return next;
        }
        if (now >= a->consent_next) {
            for (unsigned c = 1; c <= 2; c++) {
                pair *p = a->selected[c] >= 0 ? &a->pairs[a->selected[c]] : NULL;
                if (p && p->kind == C_NONE)
                    send_check(a, p, C_CONSENT, now);
            }
            a->consent_next = now + SN_ICE_CONSENT_USEC * 4 / 5 +
                              random_below(a, SN_ICE_CONSENT_USEC * 2 / 5);
        }
        if (a->consent_next < next)
            next = a->consent_next;
        if (a->consent_ok + SN_ICE_CONSENT_LOST_USEC < next)
            next = a->consent_ok + SN_ICE_CONSENT_LOST_USEC;
    }
    return next;
}

/* -- what arrives ------------------------------------------------------- */

static int answered(sn_ice_agent *a, int base, const struct sockaddr *from,
                    const uint8_t *buf, size_t len, uint64_t now)
{
    struct sockaddr_storage mapped;
    pair *p = NULL;
    int r, i;

    for (i = 0; i < (int)a->n_pairs; i++)
        if (a->pairs[i].kind != C_NONE &&
            memcmp(a->pairs[i].key, buf + 4, SN_STUN_KEY_LEN) == 0) {
            p = &a->pairs[i];
            break;
        }
    if (!p) {
        a->st.refused++;
        return -ESRCH;
    }
    r = sn_ice_stun_response(a->stun, buf, len, &mapped);
    if (r == -ESRCH || r == -EACCES || r == -EBADMSG) {
        a->st.refused++;
        return r; /* not the peer's answer: the check stays in flight */
    }
    check_kind kind = p->kind;
    p->kind = C_NONE;
    /* RFC 8445 7.2.5.2.1: the answer must come back the way it went. */
    if (a->locals[p->l].base != base ||
        !same_endpoint(&a->remotes[p->r].addr, a->remotes[p->r].port, from)) {
        a->st.refused++;
        if (kind == C_ORDINARY)
            p->st = P_FAILED;
        return -EPERM;
    }
    if (r == -EAGAIN) {
        /* 487: switch roles (RFC 8445 7.2.5.1) and check again. */
        a->st.role_conflicts++;
        a->controlling = !a->controlling;
        reprioritize(a);
        p->st = P_WAITING;
        p->triggered = true;
        return 1;
    }
    if (r < 0) {
        if (kind == C_ORDINARY)
            p->st = P_FAILED;
        return 1;
    }
    if (kind == C_CONSENT) {
        a->consent_ok = now;
        return 1;
    }
    p->st = P_SUCCEEDED;
    if (!p->valid && a->first_valid_at == 0)
        a->first_valid_at = now;
    p->valid = true;
    if (kind == C_NOMINATE || (!a->controlling && p->peer_nominated))
        select_pair(a, i, now);
    return 1;
}

static int asked(sn_ice_agent *a, int base, const struct sockaddr *from, const uint8_t *buf,
                 size_t len, uint64_t now)
{
    uint8_t out[SN_ICE_REPLY_MAX];
    size_t out_len = sizeof out;
    sn_ice_request req;
    bool controlling = a->controlling;
    int r = sn_ice_stun_answer(a->stun, buf, len, a->ufrag, a->pwd, from, &controlling,
                               a->cfg.tie_breaker, out, &out_len, &req);

    if (r < 0) {
        a->st.refused++;
        return r; /* no answer at all */
    }
    a->cfg.send(base, from, out, out_len, a->cfg.user_data);
    if (r == 1)
        return 1; /* 487: we keep our role */
    a->st.checks_answered++;
    if (req.role_switched) {
        a->st.role_conflicts++;
        a->controlling = controlling;
        reprioritize(a);
    }
    if (!a->started || !a->rpwd[0])
        return 1;
    /* The pair it came on (RFC 8445 7.3.1.3, 7.3.1.4): a source we do not
     * know is a peer-reflexive candidate. */
    int lbase = -1, ri;
    unsigned comp = 1;
    for (size_t i = 0; i < a->n_locals; i++)
        if (a->locals[i].base == base && a->locals[i].cand.type != SN_ICE_SRFLX) {
            lbase = (int)i;
            comp = a->locals[i].cand.component;
            break;
        }
    if (lbase < 0)
        return 1;
    sn_ice_cand prflx;
    memset(&prflx, 0, sizeof prflx);
    int port = 0;
    if (sn_addr_from_sockaddr(from, &prflx.addr, &port) < 0)
        return 1;
    prflx.port = (uint16_t)port;
    prflx.component = comp;
    prflx.type = SN_ICE_PRFLX;
    prflx.priority = req.priority ? req.priority : 1;
    snprintf(prflx.foundation, sizeof prflx.foundation, "prflx%zu", a->n_remotes);
    ri = remote_index(a, &prflx);
    if (ri < 0) {
        if (a->n_remotes == SN_ICE_MAX_REMOTE)
            return 1;
        a->remotes[a->n_remotes] = prflx;
        ri = (int)a->n_remotes++;
    }
    int pi = local_for_base(a, base, comp);
    if (pi < 0 || (pi = add_pair(a, pi, ri)) < 0)
        return 1;
    pair *p = &a->pairs[pi];
    if (req.use_candidate && !a->controlling) {
        p->peer_nominated = true;
        if (p->valid)
            select_pair(a, pi, now);
    }
    /* A triggered check, unless one is in flight or it already worked. */
    if (p->st != P_SUCCEEDED && p->kind == C_NONE) {
        p->st = P_WAITING;
        p->triggered = true;
        if (a->state == SN_ICE_CHECKING && now >= a->next_check)
            sn_ice_tick(a, now);
    }
    return 1;
}

int sn_ice_receive(sn_ice_agent *a, int base, const struct sockaddr *from,
                   const uint8_t *buf, size_t len, uint64_t now)
{
    if (!a || !from || !buf)
        return -EINVAL;
    if (!sn_stun_looks_like(buf, len))
        return 0;
    /* Class bits (RFC 8489 5): 0x0110 of the type. */
    unsigned cls = (unsigned)(buf[0] & 0x01) << 1 | (buf[1] & 0x10) >> 4;
    if (cls == 0)
        return asked(a, base, from, buf, len, now);
    if (cls == 2 || cls == 3)
        return answered(a, base, from, buf, len, now);
    a->st.refused++; /* an indication: nothing of ICE's */
    return -EBADMSG;
}

int sn_ice_local_at(const sn_ice_agent *a, size_t i, sn_ice_cand *out)
{
    if (!a || !out || i >= a->n_locals)
        return -ENOENT;
    *out = a->locals[i].cand;
    return 0;
}

sn_ice_state sn_ice_get_state(const sn_ice_agent *a)
{
    return a ? a->state : SN_ICE_FAILED;
}

bool sn_ice_is_controlling(const sn_ice_agent *a)
{
    return a && a->controlling;
}

int sn_ice_selected(const sn_ice_agent *a, unsigned component, int *base,
                    struct sockaddr_storage *remote, sn_ice_cand *local_cand,
                    sn_ice_cand *remote_cand)
{
    const pair *p;

    if (!a || component < 1 || component > 2 || a->selected[component] < 0)
        return -ENOENT;
    p = &a->pairs[a->selected[component]];
    if (base)
        *base = a->locals[p->l].base;
    if (remote && !sn_addr_to_sockaddr(&a->remotes[p->r].addr, a->remotes[p->r].port,
                                       remote))
        return -EINVAL;
    if (local_cand)
        *local_cand = a->locals[p->l].cand;
    if (remote_cand)
        *remote_cand = a->remotes[p->r];
    return 0;
}

void sn_ice_get_stats(const sn_ice_agent *a, sn_ice_stats *out)
{
    if (a && out)
        *out = a->st;
}
