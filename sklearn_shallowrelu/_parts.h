/* The parts of a task on threads (sklearn_shallowrelu._parts): the calling thread and
   persistent worker threads take the parts in turn, each the next one left when it is
   free; the workers wait for work by spinning for SRL_SPIN_NS, then sleep on a condition
   variable.  A worker that is slow to come (its core is busy with another process) leaves
   its parts to the others instead of holding the caller up.

   Why not a Python thread pool: handing work to a sleeping thread and waiting for it
   takes a wake-up through the kernel each way, which on a 2-CPU virtual machine cost
   85 to 130 us per step, as much as the whole step of a small network.  A worker that
   is still spinning takes the next task in well under a microsecond (0.08 us there),
   and a training loop comes back within tens of microseconds, so between the steps of
   a fit the workers spin and do not sleep.  After SRL_SPIN_NS without work they sleep,
   so an idle process keeps no core busy.

   One caller at a time has the workers (a try-lock): a thread that calls meanwhile
   runs all its parts itself.  A forked child has none of its parent's threads; its
   first call makes its own.  Without POSIX threads every part runs on the caller. */
#ifndef SRL_PARTS_H
#define SRL_PARTS_H

typedef void (*srl_part_fn)(void *ctx, int part);

#if defined(__unix__) || defined(__APPLE__)
#define SRL_HAVE_THREADS 1
#include <pthread.h>
#include <sched.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define SRL_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SRL_PAUSE() __asm__ __volatile__("yield")
#else
#define SRL_PAUSE() ((void)0)
#endif

#define SRL_MAX_WORKERS 63
/* A waiting thread spins with the CPU's pause for SRL_PAUSE_NS, then gives its core to any
   other thread that wants it (sched_yield: the BLAS's threads, the caller's other work)
   until SRL_SPIN_NS, and then a worker sleeps.  1 ms is far longer than the Python between
   two steps of a fit and far shorter than a person notices. */
#define SRL_PAUSE_NS 20000LL
#define SRL_SPIN_NS 1000000LL

typedef struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned long long posted;  /* the last task handed to this worker (atomic) */
    int sleeping;               /* under mu */
} srl_worker;

static srl_worker srl_workers[SRL_MAX_WORKERS];
static int srl_n_workers = 0;
static pthread_mutex_t srl_pool = PTHREAD_MUTEX_INITIALIZER;  /* held by the caller that has the workers */
static int srl_atfork_set = 0;

/* The task: its function and context (atomic: a late worker may read them while the next
   caller writes them, and then discards them), the parts done, and the claim word
   (task number << 32 | next part << 16 | parts): a thread takes a part by raising
   "next part" with a compare-and-swap that fails once the task number has changed, so a
   worker that wakes late never runs a part of a task that has ended. */
static srl_part_fn srl_task_fn;
static void *srl_task_ctx;
static int srl_task_done;
static unsigned long long srl_task_claim;
static unsigned long long srl_task_number = 0;

static long long srl_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One wait step of a thread that has waited since `start`: pause, or yield the core. */
static void srl_wait_step(long long start, unsigned *spins) {
    if (++*spins < 64 || srl_now_ns() - start < SRL_PAUSE_NS) {
        SRL_PAUSE();
    } else {
        sched_yield();
    }
}

/* Takes and runs parts of task `number` until none is left; returns when it takes none. */
static void srl_take_parts(unsigned long long number) {
    for (;;) {
        unsigned long long claim = __atomic_load_n(&srl_task_claim, __ATOMIC_ACQUIRE);
        srl_part_fn fn = __atomic_load_n(&srl_task_fn, __ATOMIC_RELAXED);
        void *ctx = __atomic_load_n(&srl_task_ctx, __ATOMIC_RELAXED);
        int next = (int)((claim >> 16) & 0xffff), parts = (int)(claim & 0xffff);
        if ((claim >> 32) != (number & 0xffffffffULL) || next >= parts)
            return;
        if (!__atomic_compare_exchange_n(&srl_task_claim, &claim, claim + (1ULL << 16), 0, __ATOMIC_ACQ_REL,
                                         __ATOMIC_ACQUIRE))
            continue;  /* another thread took it, or the task changed: look again */
        fn(ctx, next);
        __atomic_add_fetch(&srl_task_done, 1, __ATOMIC_RELEASE);
    }
}

static void *srl_worker_main(void *arg) {
    srl_worker *w = (srl_worker *)arg;
    unsigned long long seen = __atomic_load_n(&w->posted, __ATOMIC_ACQUIRE), posted;
    for (;;) {
        long long start = srl_now_ns();
        unsigned spins = 0;
        while ((posted = __atomic_load_n(&w->posted, __ATOMIC_ACQUIRE)) == seen) {
            srl_wait_step(start, &spins);
            if (spins % 64 == 0 && srl_now_ns() - start > SRL_SPIN_NS) {
                pthread_mutex_lock(&w->mu);
                w->sleeping = 1;
                while (__atomic_load_n(&w->posted, __ATOMIC_ACQUIRE) == seen)
                    pthread_cond_wait(&w->cv, &w->mu);
                w->sleeping = 0;
                pthread_mutex_unlock(&w->mu);
            }
        }
        seen = posted;
        srl_take_parts(seen);
    }
    return NULL;
}

static void srl_forget_workers(void) {
    /* in a forked child: the parent's workers are not here, and the lock may be held
       by the parent's caller */
    pthread_mutex_t unlocked = PTHREAD_MUTEX_INITIALIZER;
    srl_n_workers = 0;
    srl_pool = unlocked;
}

/* Makes workers up to `want` (at most SRL_MAX_WORKERS); returns how many there are. */
static int srl_grow(int want) {
    pthread_attr_t attr;
    if (!srl_atfork_set) {
        pthread_atfork(NULL, NULL, srl_forget_workers);
        srl_atfork_set = 1;
    }
    if (want > SRL_MAX_WORKERS)
        want = SRL_MAX_WORKERS;
    if (srl_n_workers >= want || pthread_attr_init(&attr) != 0)
        return srl_n_workers;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    while (srl_n_workers < want) {
        srl_worker *w = &srl_workers[srl_n_workers];
        if (pthread_mutex_init(&w->mu, NULL) != 0)
            break;
        if (pthread_cond_init(&w->cv, NULL) != 0) {
            pthread_mutex_destroy(&w->mu);
            break;
        }
        w->posted = srl_task_number;  /* no task for it yet */
        w->sleeping = 0;
        if (pthread_create(&w->thread, &attr, srl_worker_main, w) != 0) {
            pthread_cond_destroy(&w->cv);
            pthread_mutex_destroy(&w->mu);
            break;
        }
        srl_n_workers++;
    }
    pthread_attr_destroy(&attr);
    return srl_n_workers;
}

/* fn(ctx, j) for j = 0 .. parts - 1 (at most 65535), each exactly once, on this thread and
   up to threads - 1 workers, each taking the next part left when it is free; returns when
   all have ended.  Returns the threads offered the parts (1: all ran here). */
static int srl_run_parts(srl_part_fn fn, void *ctx, int parts, int threads) {
    int j, helpers;
    unsigned long long number;
    unsigned spins = 0;
    long long start;
    if (threads > parts)
        threads = parts;
    if (threads <= 1 || parts > 0xffff || pthread_mutex_trylock(&srl_pool) != 0) {
        for (j = 0; j < parts; j++)
            fn(ctx, j);
        return 1;
    }
    helpers = srl_grow(threads - 1);
    if (helpers > threads - 1)
        helpers = threads - 1;
    /* every part of the last task has ended (its caller waited for them): no thread
       runs its function any more, and a late one cannot take a part of this one */
    number = ++srl_task_number;
    __atomic_store_n(&srl_task_fn, fn, __ATOMIC_RELAXED);
    __atomic_store_n(&srl_task_ctx, ctx, __ATOMIC_RELAXED);
    __atomic_store_n(&srl_task_done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&srl_task_claim, ((number & 0xffffffffULL) << 32) | (unsigned long long)parts,
                     __ATOMIC_RELEASE);
    for (j = 0; j < helpers; j++) {
        srl_worker *w = &srl_workers[j];
        pthread_mutex_lock(&w->mu);  /* a worker going to sleep sees the task or the signal */
        __atomic_store_n(&w->posted, number, __ATOMIC_RELEASE);
        if (w->sleeping)
            pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    srl_take_parts(number);
    start = srl_now_ns();
    while (__atomic_load_n(&srl_task_done, __ATOMIC_ACQUIRE) != parts)
        srl_wait_step(start, &spins);  /* parts that workers took are still running */
    pthread_mutex_unlock(&srl_pool);
    return helpers + 1;
}

#else
#define SRL_HAVE_THREADS 0
static int srl_run_parts(srl_part_fn fn, void *ctx, int parts, int threads) {
    int j;
    for (j = 0; j < parts; j++)
        fn(ctx, j);
    return 1;
}
#endif

#endif
