/* cfilter's work-sharing pool: one per process, for every parallel step.
 *
 * A call cuts its work into items fixed by the shapes and hands them to
 * cf_pool_run(fn, ctx, nitems, nthreads).  Items are claimed one at a time
 * from an atomic counter, by the calling thread (slot 0) and by up to
 * nthreads - 1 helpers (slots 1 ...), each with its own slot number for its
 * scratch.  Invariants:
 *
 *  - The calling thread claims items too, from the first to the last; a
 *    helper joins a call only by claiming an item under the pool's lock,
 *    so a helper that has not started when the items run out takes
 *    nothing, and the caller waits only for items a helper has claimed.
 *    A helper the machine holds back therefore never stalls a call (an
 *    OpenMP barrier waits for every thread of its team, started or not).
 *  - Waiting threads sleep on condition variables after a short bounded
 *    spin; no thread burns a core while it waits.
 *  - Several callers share the helpers: each call is a job on a list, and
 *    a free helper joins the oldest job with items left and a slot free.
 *    There are never more than `max_helpers` helpers (CPUs - 1), however
 *    many threads call at once.  Nested calls (an item that calls the pool)
 *    cannot deadlock: every caller can finish its own job alone.
 *  - After fork() the child has no helpers and an empty, fresh pool; it
 *    starts its own helpers on first use.
 *
 * The pool never changes what an item computes, so results depend only on
 * how the caller cut its work, never on the thread count.
 */
#ifndef CFILTER_POOL_H
#define CFILTER_POOL_H

#include <stddef.h>

typedef void (*cf_item_fn)(void *ctx, Py_ssize_t item, int slot);

#if defined(_WIN32)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN
#  endif
#  include <windows.h>
#  include <process.h>
typedef SRWLOCK cf_mutex_t;
typedef CONDITION_VARIABLE cf_cond_t;
#  define cf_mutex_init(m) InitializeSRWLock(m)
#  define cf_mutex_lock(m) AcquireSRWLockExclusive(m)
#  define cf_mutex_unlock(m) ReleaseSRWLockExclusive(m)
#  define cf_cond_init(c) InitializeConditionVariable(c)
#  define cf_cond_wait(c, m) SleepConditionVariableSRW(c, m, INFINITE, 0)
#  define cf_cond_signal(c) WakeConditionVariable(c)
#  define cf_cond_broadcast(c) WakeAllConditionVariable(c)
#  define cf_pause() YieldProcessor()
#  define cf_fetch_add(p, v) InterlockedExchangeAdd64((volatile LONG64 *)(p), (v))
#  define cf_load(p) InterlockedOr64((volatile LONG64 *)(p), 0)
#  define cf_load_int(p) InterlockedOr((volatile LONG *)(p), 0)
#  define cf_load_ptr(p) InterlockedCompareExchangePointer((PVOID volatile *)(p), NULL, NULL)
#else
#  include <pthread.h>
#  include <signal.h>
typedef pthread_mutex_t cf_mutex_t;
typedef pthread_cond_t cf_cond_t;
#  define cf_mutex_init(m) pthread_mutex_init(m, NULL)
#  define cf_mutex_lock(m) pthread_mutex_lock(m)
#  define cf_mutex_unlock(m) pthread_mutex_unlock(m)
#  define cf_cond_init(c) pthread_cond_init(c, NULL)
#  define cf_cond_wait(c, m) pthread_cond_wait(c, m)
#  define cf_cond_signal(c) pthread_cond_signal(c)
#  define cf_cond_broadcast(c) pthread_cond_broadcast(c)
#  if defined(__x86_64__) || defined(__i386__)
#    define cf_pause() __builtin_ia32_pause()
#  elif defined(__aarch64__)
#    define cf_pause() __asm__ __volatile__("yield")
#  else
#    define cf_pause() ((void)0)
#  endif
#  define cf_fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#  define cf_load(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#  define cf_load_int(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#  define cf_load_ptr(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#endif

typedef struct cf_job {
    cf_item_fn fn;
    void *ctx;
    Py_ssize_t nitems;
    Py_ssize_t next;          /* the next item to claim (atomic) */
    int max_slots;            /* threads that may work on it, caller included */
    int slots;                /* slots handed out (under the lock) */
    int busy;                 /* helpers holding a claimed item (under the lock) */
    struct cf_job *prev, *nextjob;   /* the list of open jobs (under the lock) */
} cf_job;

static struct {
    cf_mutex_t lock;
    cf_cond_t work;           /* helpers wait here for a job */
    cf_cond_t done;           /* callers wait here for their helpers */
    cf_job *head, *tail;      /* open jobs, oldest first */
    int helpers;              /* helper threads started */
    int idle;                 /* helpers waiting on `work` */
    int max_helpers;          /* at most this many helpers */
    long spin;                /* bounded spin (pause instructions) before sleeping */
    Py_ssize_t jobs_run;      /* calls that were offered to helpers */
    Py_ssize_t items_helped;  /* items helpers took */
    int ready;
} cf_pool = {0};

static int cf_pool_is_open(const cf_job *job)
{
    return job->slots < job->max_slots && cf_load(&job->next) < job->nitems;
}

static void cf_pool_unlink(cf_job *job)
{
    if (job->prev) job->prev->nextjob = job->nextjob; else cf_pool.head = job->nextjob;
    if (job->nextjob) job->nextjob->prev = job->prev; else cf_pool.tail = job->prev;
    job->prev = job->nextjob = NULL;
}

/* A helper: joins open jobs by claiming an item under the lock, works
   until the items run out, then reports and looks for the next job. */
static void cf_pool_helper_loop(void)
{
    cf_job *job;
    Py_ssize_t item;
    Py_ssize_t taken;
    int slot;
    long k;
    cf_mutex_lock(&cf_pool.lock);
    for (;;) {
        for (job = cf_pool.head; job != NULL; job = job->nextjob)
            if (cf_pool_is_open(job))
                break;
        if (job == NULL) {
            /* A short spin first: a caller that posts again at once
               (one call after another) is served without a wake-up. */
            cf_mutex_unlock(&cf_pool.lock);
            for (k = 0; k < cf_pool.spin && cf_load_ptr(&cf_pool.head) == NULL; k++)
                cf_pause();
            cf_mutex_lock(&cf_pool.lock);
            if (cf_pool.head != NULL)
                continue;
            cf_pool.idle++;
            cf_cond_wait(&cf_pool.work, &cf_pool.lock);
            cf_pool.idle--;
            continue;
        }
        item = cf_fetch_add(&job->next, 1);
        if (item >= job->nitems)
            continue;             /* the caller took the last one meanwhile */
        slot = job->slots++;
        job->busy++;
        cf_mutex_unlock(&cf_pool.lock);
        taken = 0;
        do {
            job->fn(job->ctx, item, slot);
            taken++;
            item = cf_fetch_add(&job->next, 1);
        } while (item < job->nitems);
        cf_mutex_lock(&cf_pool.lock);
        cf_pool.items_helped += taken;
        if (--job->busy == 0)
            cf_cond_broadcast(&cf_pool.done);
    }
}

#if defined(_WIN32)
static unsigned __stdcall cf_pool_thread(void *arg)
{
    (void)arg;
    cf_pool_helper_loop();
    return 0;
}
static int cf_pool_start_helper(void)
{
    uintptr_t h = _beginthreadex(NULL, 0, cf_pool_thread, NULL, 0, NULL);
    if (h == 0) return -1;
    CloseHandle((HANDLE)h);
    return 0;
}
#else
static void *cf_pool_thread(void *arg)
{
    (void)arg;
    cf_pool_helper_loop();
    return NULL;
}
static int cf_pool_start_helper(void)
{
    pthread_t t;
    pthread_attr_t attr;
    int err;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Helpers take no signals: Python handles them on its main thread. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    err = pthread_create(&t, &attr, cf_pool_thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return err ? -1 : 0;
}

/* fork(): the child inherits the pool's memory but none of its threads.
   The lock is held across the fork, so the child's copy of the pool is
   consistent; the child then starts afresh with no helpers. */
static void cf_pool_prepare(void) { cf_mutex_lock(&cf_pool.lock); }
static void cf_pool_parent(void) { cf_mutex_unlock(&cf_pool.lock); }
static void cf_pool_child(void)
{
    cf_mutex_init(&cf_pool.lock);
    cf_cond_init(&cf_pool.work);
    cf_cond_init(&cf_pool.done);
    cf_pool.head = cf_pool.tail = NULL;
    cf_pool.helpers = 0;
    cf_pool.idle = 0;
    cf_pool.jobs_run = 0;
    cf_pool.items_helped = 0;
}
#endif

/* Once, at module import (with the GIL held). */
static void cf_pool_init(int max_helpers, long spin)
{
    if (!cf_pool.ready) {
        cf_mutex_init(&cf_pool.lock);
        cf_cond_init(&cf_pool.work);
        cf_cond_init(&cf_pool.done);
#if !defined(_WIN32)
        pthread_atfork(cf_pool_prepare, cf_pool_parent, cf_pool_child);
#endif
        cf_pool.ready = 1;
    }
    cf_mutex_lock(&cf_pool.lock);
    cf_pool.max_helpers = max_helpers < 0 ? 0 : max_helpers;
    cf_pool.spin = spin < 0 ? 0 : spin;
    cf_mutex_unlock(&cf_pool.lock);
}

/* Run fn(ctx, item, slot) for every item in [0, nitems), each exactly
   once, on this thread and up to nthreads - 1 helpers (slot < nthreads).
   Returns when every item has finished. */
static void cf_pool_run(cf_item_fn fn, void *ctx, Py_ssize_t nitems,
                        int nthreads)
{
    cf_job job;
    Py_ssize_t item;
    int want, k;
    long s;
    if (nthreads > nitems)
        nthreads = (int)nitems;
    if (nthreads <= 1 || cf_pool.max_helpers == 0) {
        for (item = 0; item < nitems; item++)
            fn(ctx, item, 0);
        return;
    }
    job.fn = fn;
    job.ctx = ctx;
    job.nitems = nitems;
    job.next = 0;
    job.max_slots = nthreads;
    job.slots = 1;            /* slot 0 is the caller's */
    job.busy = 0;
    job.prev = job.nextjob = NULL;
    want = nthreads - 1;

    cf_mutex_lock(&cf_pool.lock);
    job.prev = cf_pool.tail;
    if (cf_pool.tail) cf_pool.tail->nextjob = &job; else cf_pool.head = &job;
    cf_pool.tail = &job;
    cf_pool.jobs_run++;
    /* Wake sleeping helpers, and start more (up to the cap) while fewer
       exist than this call could use.  A helper that cannot start leaves
       its items to the others. */
    k = want < cf_pool.idle ? want : cf_pool.idle;
    if (k > 0 && k == cf_pool.idle)
        cf_cond_broadcast(&cf_pool.work);
    else
        for (; k > 0; k--)
            cf_cond_signal(&cf_pool.work);
    while (cf_pool.helpers < want && cf_pool.helpers < cf_pool.max_helpers) {
        if (cf_pool_start_helper() != 0)
            break;
        cf_pool.helpers++;
    }
    cf_mutex_unlock(&cf_pool.lock);

    while ((item = cf_fetch_add(&job.next, 1)) < nitems)
        fn(ctx, item, 0);

    /* The items are gone: wait for those the helpers hold, spinning a
       little first (they are usually about to finish). */
    for (s = 0; s < cf_pool.spin && cf_load_int(&job.busy) != 0; s++)
        cf_pause();
    cf_mutex_lock(&cf_pool.lock);
    cf_pool_unlink(&job);
    while (job.busy > 0)
        cf_cond_wait(&cf_pool.done, &cf_pool.lock);
    cf_mutex_unlock(&cf_pool.lock);
}

/* For tests and show_config: helpers started, helpers asleep, the cap,
   calls offered to helpers and items the helpers ran. */
static void cf_pool_stats(Py_ssize_t *out)
{
    cf_mutex_lock(&cf_pool.lock);
    out[0] = cf_pool.helpers;
    out[1] = cf_pool.idle;
    out[2] = cf_pool.max_helpers;
    out[3] = cf_pool.jobs_run;
    out[4] = cf_pool.items_helped;
    cf_mutex_unlock(&cf_pool.lock);
}

#endif  /* CFILTER_POOL_H */
