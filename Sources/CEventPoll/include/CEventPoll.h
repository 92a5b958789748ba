#ifndef LOCKSTORM_CEVENTPOLL_H
#define LOCKSTORM_CEVENTPOLL_H

/*
 * Linux epoll for the engine's event loops (Engine/Load/Poller.swift):
 * Swift's Glibc module does not include <sys/epoll.h>.
 */
#ifdef __linux__
#include <sys/epoll.h>
#endif

#endif
