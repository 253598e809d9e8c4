/*
 * The username registry's protocol, as Sources/Microblog/Users/UserRegistry.swift and the stores' write
 * transactions (SQLiteStore+Users.swift, PostgresStore+Users.swift) implement it, for spin.
 * What is modelled and what is not: README.md beside this file. Run: bash Tests/scripts/model-check.sh.
 *
 * Switches (spin -D...):
 *   (none)                  SQLite: BEGIN IMMEDIATE takes the one write lock; the check runs inside, under it
 *   POSTGRES                PostgreSQL at READ COMMITTED: no lock; between the check and the write another
 *                           transaction may commit, and only the UNIQUE index stops the duplicate
 *   MUTANT_NO_UNIQUE        the tutorial's validate-then-commit: the check is a read before the write
 *                           transaction, which writes without checking again; no UNIQUE index
 *   MUTANT_CHECK_OUTSIDE    the same check outside the transaction, with the UNIQUE index
 *   MUTANT_NO_MAPPING       a constraint violation is not turned into "taken": it ends the claim as a 500
 *   OWN_NAME                scenario: user 0 saves its profile keeping its name A while a registration of A is
 *                           in flight on the same server
 *   MUTANT_RESERVE_OWN_NAME a rename reserves its key even when the user already holds it: the user keeping its
 *                           name is told "taken" by the registration's reservation
 */

#define NKEYS     4      /* normalised usernames (IdentityKey) */
#define NO_KEY    0      /* a row that does not exist (yet) */
#define A         1
#define B         2
#define C         3
#define D         4
#define NROWS     6      /* rows 0..2: users holding A, B, D at the start; rows 3..5: one per registration */
#define NCLAIMS   6

#if defined(MUTANT_NO_UNIQUE) || defined(MUTANT_CHECK_OUTSIDE)
#define CHECK_OUTSIDE
#endif

mtype = { OK, TAKEN, UNAVAILABLE, SERVER_ERROR };    /* what a claimant is told: 302, form error, 503, 500 */
mtype = { NONE, RESERVED, CONFLICT, CONSTRAINT, BUSY };
    /* the claim's error: none; the registry's reservation (RegistryError); the check's, the UNIQUE index's and
       the engine's (StoreError .conflict found by the check, .conflict from the index, .unavailable) */
mtype = { registration, rename };                    /* UserRegistry.register, UserRegistry.updateProfile */

/* The database: the user table's username_key column, one entry per row. */
byte rowKey[NROWS];
/* Each server's UserRegistry.claims for the username field: 0 = no claim in flight, else the claimant. */
byte claims[2 * NKEYS];
#ifndef POSTGRES
byte writer = 0;         /* SQLite's write lock: 0 = free, else the claim holding it + 1 */
#endif
/* Ghost: claims of each key on each server that are past the reservation, on their way to the database. */
byte pastRegistry[2 * NKEYS];
byte commits = 0;        /* committed write transactions */
byte ended = 0;          /* claims that have ended: their claimant has been told */

#define CLAIM(server, key)   claims[(server) * NKEYS + (key) - 1]
#define PAST(server, key)    pastRegistry[(server) * NKEYS + (key) - 1]
/* A row other than `own` holds `key`: what the store's check finds, and what the UNIQUE index refuses. */
#define HELD_BY_OTHER(key, own) \
    ((rowKey[0] == (key) && (own) != 0) || (rowKey[1] == (key) && (own) != 1) || \
     (rowKey[2] == (key) && (own) != 2) || (rowKey[3] == (key) && (own) != 3) || \
     (rowKey[4] == (key) && (own) != 4) || (rowKey[5] == (key) && (own) != 5))
#define IS(row, key)         (rowKey[row] == (key) -> 1 : 0)
#define HOLDERS(key)         (IS(0, key) + IS(1, key) + IS(2, key) + IS(3, key) + IS(4, key) + IS(5, key))
#define AT_MOST_ONE_HOLDER   (HOLDERS(A) <= 1 && HOLDERS(B) <= 1 && HOLDERS(C) <= 1 && HOLDERS(D) <= 1)
#define INITIAL_KEY(row)     ((row) == 0 -> A : ((row) == 1 -> B : ((row) == 2 -> D : NO_KEY)))
#define NAME(key)            ('A' + (key) - 1)
/* A rename to the key its user holds (as the controller read it): the registry takes no reservation for it. */
#ifdef MUTANT_RESERVE_OWN_NAME
#define KEEPS_OWN_KEY        false
#else
#define KEEPS_OWN_KEY        (kind == rename && rowKey[row] == key)
#endif

/* The end of the write transaction (COMMIT or ROLLBACK): SQLite's lock is released. It was held from BEGIN, so a
   transaction that failed committed nothing, and nobody else did meanwhile. */
inline endTransaction() {
#ifndef POSTGRES
    assert(error == NONE || commits == seen);
    writer = 0
#else
    skip
#endif
}

/*
 * One claim: a registration (a new row `row` with username `key`) or a rename (user `row` to `key`), received by
 * server `server`. The claimant as UserRegistry.Claimant: a rename is its user, a registration a fresh UUID.
 */
proctype Claim(byte id; byte server; mtype kind; byte row; byte key)
{
    byte claimant = (kind == rename -> row + 1 : 10 + id);
    byte seen;               /* commits when the write lock was taken */
    bool reserved = false;   /* whether this claim took a reservation */
    mtype error = NONE;
    mtype result;

    /* reserve(_:for:orThrow:): actor-isolated and synchronous, so nothing interleaves on this server. It throws
       before the `defer` that releases is set up. A rename to the key the user holds (its current name, as the
       controller read it) takes no reservation: the transaction's check decides. */
    atomic {
        if
        :: kind == rename -> printf("MSC: claim %d: user %d asks server %d to rename it %c\n", id, row, server, NAME(key))
        :: else -> printf("MSC: claim %d: a registration of %c on server %d\n", id, NAME(key), server)
        fi;
        if
        :: KEEPS_OWN_KEY ->
            printf("MSC: claim %d: user %d keeps %c: no reservation\n", id, row, NAME(key))
        :: !KEEPS_OWN_KEY && CLAIM(server, key) != 0 && CLAIM(server, key) != claimant ->
            printf("MSC: claim %d: another claim holds the reservation of %c\n", id, NAME(key));
            error = RESERVED;
            goto finish
        :: !KEEPS_OWN_KEY && (CLAIM(server, key) == 0 || CLAIM(server, key) == claimant) ->
            CLAIM(server, key) = claimant;
            reserved = true;
            printf("MSC: claim %d: reserves %c in the registry\n", id, NAME(key));
            /* The registry's own promise: of the claims of one key on one server, one at a time goes on to the
               database; the others are told "taken" without reaching it. */
            PAST(server, key)++;
            assert(PAST(server, key) == 1)
        fi
    }

    /* await hooks.beforePersist(key); await database.insertUser / updateProfile. The actor is re-entrant from
       here on: every other claim on this server, and every claim on the other server, may run. */

#ifdef CHECK_OUTSIDE
    /* Mutants: the check is a read of what is committed, outside the write transaction (the tutorial's
       validate_username), and the transaction below writes without checking again. */
    atomic {
        if
        :: HELD_BY_OTHER(key, row) ->
            printf("MSC: claim %d: checks %c outside the transaction: held\n", id, NAME(key));
            error = CONFLICT;
            goto finish
        :: else ->
            printf("MSC: claim %d: checks %c outside the transaction: free\n", id, NAME(key))
        fi
    }
#endif

#ifndef POSTGRES
    /* BEGIN IMMEDIATE: the write lock, or SQLITE_BUSY once the busy timeout passes while another holds it. */
    if
    :: atomic {
           writer == 0 -> writer = id + 1; seen = commits;
           printf("MSC: claim %d: BEGIN IMMEDIATE: takes the write lock\n", id)
       }
    :: atomic {
           writer != 0 -> error = BUSY;
           printf("MSC: claim %d: BEGIN IMMEDIATE: busy timeout\n", id);
           goto finish
       }
    fi;
#endif

#ifndef CHECK_OUTSIDE
    /* The store's check inside the transaction: SELECT ... WHERE username_key = ? (AND id <> ?). */
    atomic {
        if
        :: HELD_BY_OTHER(key, row) ->
            printf("MSC: claim %d: checks %c inside the transaction: held, ROLLBACK\n", id, NAME(key));
            error = CONFLICT;
            endTransaction();
            goto finish
        :: else ->
            printf("MSC: claim %d: checks %c inside the transaction: free\n", id, NAME(key))
        fi
    }
#endif

    /* INSERT or UPDATE and COMMIT: the UNIQUE index refuses a duplicate (a constraint error); or the engine fails
       (busy, lock timeout, disk full) and the transaction rolls back whole. */
    atomic {
        if
#ifndef MUTANT_NO_UNIQUE
        :: HELD_BY_OTHER(key, row) ->
            printf("MSC: claim %d: writes %c: the UNIQUE index refuses it, ROLLBACK\n", id, NAME(key));
            error = CONSTRAINT
#endif
        :: else ->
            if
            :: rowKey[row] = key; commits++;
               printf("MSC: claim %d: writes %c, COMMIT: row %d holds %c\n", id, NAME(key), row, NAME(key))
            :: error = BUSY;
               printf("MSC: claim %d: writes %c: the engine fails, ROLLBACK\n", id, NAME(key))
            fi
        fi;
        endTransaction()
    }

finish:
    /* Back on the actor when the write returns: `defer { release(...) }`, then RegistryError(StoreError) is what
       the controller gets: .usernameTaken (a form error), or .store (503 for .unavailable, 500 for the rest). */
    atomic {
        if
        :: CLAIM(server, key) == claimant -> CLAIM(server, key) = 0
        :: else
        fi;
        if
        :: reserved -> PAST(server, key)--
        :: else
        fi;
        if
        :: error == NONE -> result = OK
        :: error == RESERVED || error == CONFLICT -> result = TAKEN
        :: error == CONSTRAINT ->
#ifdef MUTANT_NO_MAPPING
            result = SERVER_ERROR
#else
            result = TAKEN
#endif
        :: error == BUSY -> result = UNAVAILABLE
        fi;
        printf("MSC: claim %d ends: %e\n", id, result);
        /* No claim ends in an unmapped constraint error (a 500). */
        assert(result != SERVER_ERROR);
        /* Told "ok": it holds the key. Told "taken": it does not. */
        assert(result != OK || rowKey[row] == key);
        assert(result != TAKEN || rowKey[row] != key);
        /* A 503 left the database as it was: the claim's row is unchanged. */
        assert(result != UNAVAILABLE || rowKey[row] == INITIAL_KEY(row));
        ended++
    }
}

/* Never two holders of one key, in any reachable state: this step is enabled only in a state where it fails. */
active proctype NeverTwoHolders()
{
end:
    atomic {
        !AT_MOST_ONE_HOLDER ->
        printf("MSC: two rows hold one key\n");
        assert(AT_MOST_ONE_HOLDER)
    }
}

/* Every claim ends (a claim that cannot is an invalid end state), and then no claim is left in either table and
   the write lock is free. */
active proctype EveryClaimEnds()
{
    byte i;
    ended == NCLAIMS;
    for (i : 0 .. 2 * NKEYS - 1) {
        assert(claims[i] == 0)
    }
#ifndef POSTGRES
    assert(writer == 0)
#endif
}

init
{
    atomic {
        rowKey[0] = A; rowKey[1] = B; rowKey[2] = D;
        /*        id server kind          row key */
        run Claim(0, 0,     registration, 3,  C);   /* two registrations of C on one server: the reservation */
#ifndef OWN_NAME
        run Claim(1, 0,     registration, 4,  C);
#else
        run Claim(1, 0,     registration, 4,  A);   /* a registration of A while user 0 keeps A, on one server */
#endif
        run Claim(2, 1,     registration, 5,  C);   /* one on the other server, where user 2 renames D -> C: */
        run Claim(5, 1,     rename,       2,  C);   /* a registration and a rename of one key, across servers */
#ifndef OWN_NAME
        run Claim(3, 0,     rename,       0,  B);   /* user 0 renames A -> B ... */
#else
        run Claim(3, 0,     rename,       0,  A);   /* user 0 saves its profile, keeping A */
#endif
        run Claim(4, 1,     rename,       1,  A)    /* ... while user 1 renames B -> A */
    }
}
