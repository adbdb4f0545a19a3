/*
 * libsipnat - outbound registration: the decisions, without I/O.
 *
 * Given the options of Asterisk's `registration` section and what the
 * registrar answered, what to do next: send, answer a challenge, wait and
 * retry, refresh later, or give up. The sofia-facing code sends and
 * arms timers; every rule lives here, where it is tested exhaustively.
 */
#ifndef SIPNAT_SIP_REGFSM_H
#define SIPNAT_SIP_REGFSM_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sn_reg_cfg {
    unsigned expiration;               /* s, asked for (default 3600) */
    unsigned retry_interval;           /* s, after a temporary failure (60) */
    unsigned forbidden_retry_interval; /* s, after 403; 0: give up (0) */
    unsigned fatal_retry_interval;     /* s, after a permanent failure; 0: give up (0) */
    unsigned max_retries;              /* (10) */
    bool auth_rejection_permanent;     /* 401/407 after our answer: give up (yes) */
    unsigned max_random_initial_delay; /* s (10) */
} sn_reg_cfg;

typedef enum sn_reg_state {
    SN_REG_IDLE = 0,
    SN_REG_REGISTERING,   /* a REGISTER is out */
    SN_REG_REGISTERED,    /* refresh timer armed */
    SN_REG_RETRYING,      /* retry timer armed after a failure */
    SN_REG_FAILED,        /* gave up; only a restart leaves this */
    SN_REG_UNREGISTERING, /* REGISTER with Expires: 0 is out */
    SN_REG_UNREGISTERED
} sn_reg_state;

typedef enum sn_reg_action {
    SN_REG_NOTHING = 0,
    SN_REG_SEND,          /* send REGISTER (now, or after `delay_ms`) */
    SN_REG_AUTHENTICATE,  /* answer the challenge with the credentials */
    SN_REG_WAIT           /* arm a timer for `delay_ms`, then on_timer */
} sn_reg_action;

typedef struct sn_reg {
    sn_reg_cfg cfg;
    sn_reg_state state;
    unsigned retries;        /* failures since the last success */
    bool challenged;         /* this attempt already answered a challenge */
    unsigned expires;        /* to ask for: cfg.expiration, or Min-Expires */
    unsigned granted;        /* what the registrar granted last */
    bool unregister_after;   /* stop() while a REGISTER is out */
} sn_reg;

typedef struct sn_reg_step {
    sn_reg_action action;
    uint64_t delay_ms;       /* for SEND and WAIT */
    const char *why;         /* for events and logs */
} sn_reg_step;

/* Asterisk's defaults. */
void sn_reg_cfg_defaults(sn_reg_cfg *cfg);
void sn_reg_init(sn_reg *reg, const sn_reg_cfg *cfg);
/* Begin; `random` is any random number (for the initial delay). */
sn_reg_step sn_reg_start(sn_reg *reg, unsigned random);
/* A final response to our REGISTER (status 0: no response, a timeout or a
 * transport error). `expires`: what the 2xx granted (0 if absent);
 * `min_expires`: from a 423; `can_authenticate`: credentials exist for
 * the challenge's realm. */
sn_reg_step sn_reg_on_response(sn_reg *reg, int status, unsigned expires,
                               unsigned min_expires, bool can_authenticate);
/* The timer armed by a WAIT (refresh or retry) fired. */
sn_reg_step sn_reg_on_timer(sn_reg *reg);
/* Unregister (REGISTER with Expires: 0) if registered; otherwise stop. */
sn_reg_step sn_reg_stop(sn_reg *reg);
/* The network changed (new public address, lost NAT binding): register
 * again now, from any state but FAILED and the stopped ones. */
sn_reg_step sn_reg_refresh_now(sn_reg *reg, const char *why);

const char *sn_reg_state_name(sn_reg_state s);
/* Asterisk's "temporal" responses: worth retrying at retry_interval. */
bool sn_reg_status_is_temporary(int status, bool auth_rejection_permanent);

#endif
