#ifndef LOCKSTORM_CEVENTPOLL_H
#define LOCKSTORM_CEVENTPOLL_H

/*
 * Linux epoll for the engine's event loops (Engine/Load/Poller.swift):
 * Swift's Glibc module does not include <sys/epoll.h>. And a cache prefetch.
 */
#ifdef __linux__
#include <sys/epoll.h>
#endif

/*
 * Asks the CPU to bring the cache line at `address` in, without waiting for
 * it: the event loop does this for every ready client before serving the
 * first, so their state arrives in parallel instead of one miss at a time.
 */
static inline void ls_prefetch(const void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
