/*
 * The login throttle's admission (Sources/Microblog/Auth/LoginThrottle.swift, Store.admitLoginAttempt), as spin
 * checks it: N attempts at once, spread over two servers that share one database, each counted against the account
 * and the client network in one transaction before the password check.
 *
 * The throttle keeps no state in a server: every decision is the database's, so two servers are N attempts on one
 * database, and the server an attempt came through changes nothing below. For each subject, one statement
 * (INSERT ... ON CONFLICT DO UPDATE ... WHERE count < allowed ... RETURNING) counts the attempt unless the subject is
 * at its allowance; the subjects' statements run in one transaction, in one order (sorted by subject), inside a
 * savepoint rolled back whole when one subject refuses.
 *  - SQLite (-DSQLITE): the transaction holds the database's one write lock (BEGIN IMMEDIATE).
 *  - PostgreSQL (default): a statement takes the subject's row lock, held to the end of the transaction; another
 *    transaction's statement on that row waits for it.
 * Not modelled: time (the window, the doubling block; once a subject is at its allowance it stays refused here),
 * and successful logins (every attempt here is a failure, which is the attacker's case).
 *
 * Properties: no more attempts reach the password check than the smaller allowance (an assertion); no counted
 * attempt is lost (the end state); every attempt ends (no deadlock: invalid end states are checked).
 * Mutants: MUTANT_CHECK_THEN_RECORD (the old throttle: read, check the password, then record) must let more
 * attempts through; MUTANT_NO_ROLLBACK (a refused attempt leaves its first count) must count attempts that never
 * reached the check; MUTANT_UNSORTED (PostgreSQL, the two subjects locked in either order) must deadlock.
 */

#define N 4
#define ACCOUNT 0
#define CLIENT 1
/* The client's allowance is the smaller here, so that the second statement refuses and the savepoint is rolled back. */
#define ACCOUNT_ALLOWED 3
#define CLIENT_ALLOWED 2
#define allowed(s) (s == ACCOUNT -> ACCOUNT_ALLOWED : CLIENT_ALLOWED)

byte count[2];        /* the stored counts */
byte rowLock[2];      /* PostgreSQL: the attempt holding the row's lock (its id), 0: none */
byte writeLock;       /* SQLite: the attempt holding the write lock, 0: none */
byte checking;        /* attempts in the password check now */
byte checked;         /* attempts that reached the password check */
byte refused;         /* attempts refused (429) */

inline lock(s) {
#ifdef SQLITE
  skip
#else
  atomic { rowLock[s] == 0 || rowLock[s] == me -> rowLock[s] = me }
#endif
}

inline unlockAll() {
#ifdef SQLITE
  writeLock = 0
#else
  atomic {
    if :: rowLock[ACCOUNT] == me -> rowLock[ACCOUNT] = 0 :: else -> skip fi;
    if :: rowLock[CLIENT] == me -> rowLock[CLIENT] = 0 :: else -> skip fi
  }
#endif
}

inline passwordCheck() {
  atomic {
    checking++;
    checked++;
    printf("MSC: attempt %d is in the password check (%d so far)\n", me, checked);
    assert(checked <= CLIENT_ALLOWED)
  };
  checking--
}

proctype Attempt(byte me; byte first; byte second) {
  bool admitted = true;
#ifdef MUTANT_CHECK_THEN_RECORD
  /* The old order: ask whether a subject is blocked (a plain read), check the password, then record the failure. */
  if
  :: count[ACCOUNT] < ACCOUNT_ALLOWED && count[CLIENT] < CLIENT_ALLOWED ->
     printf("MSC: attempt %d reads the counts: not blocked\n", me)
  :: else -> admitted = false
  fi;
  if
  :: admitted ->
     passwordCheck();
#ifdef SQLITE
     atomic { writeLock == 0 -> writeLock = me };
#endif
     lock(ACCOUNT); count[ACCOUNT]++;
     lock(CLIENT); count[CLIENT]++;
     unlockAll()
  :: else -> refused++
  fi
#else
#ifdef SQLITE
  atomic { writeLock == 0 -> writeLock = me };
#endif
  /* SAVEPOINT; the first subject's statement */
  lock(first);
  atomic {
    if
    :: count[first] < allowed(first) -> count[first]++
    :: else -> admitted = false
    fi
  };
  /* the second subject's statement, if the first admitted */
  if
  :: admitted ->
     lock(second);
     atomic {
       if
       :: count[second] < allowed(second) -> count[second]++
       :: else ->
          admitted = false;
#ifndef MUTANT_NO_ROLLBACK
          count[first]--;   /* ROLLBACK TO SAVEPOINT: the first subject's count goes too */
#endif
          skip
       fi
     }
  :: else -> skip
  fi;
  /* COMMIT: the locks go */
  unlockAll();
  if
  :: admitted -> passwordCheck()
  :: else -> atomic { refused++; printf("MSC: attempt %d is refused (429)\n", me) }
  fi
#endif
}

init {
  byte i = 1;
  atomic {
    do
    :: i <= N ->
#ifdef MUTANT_UNSORTED
       /* attempts through the second server lock the client's row first */
       if
       :: i % 2 == 0 -> run Attempt(i, CLIENT, ACCOUNT)
       :: else -> run Attempt(i, ACCOUNT, CLIENT)
       fi;
#else
       run Attempt(i, ACCOUNT, CLIENT);
#endif
       i++
    :: else -> break
    od
  };
  /* every attempt ended */
  (_nr_pr == 1);
  assert(checked + refused == N);
  assert(count[ACCOUNT] == checked && count[CLIENT] == checked);
  assert(checked == CLIENT_ALLOWED)
}
