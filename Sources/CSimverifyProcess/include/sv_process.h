// Process-level calls Swift cannot import directly (prctl is variadic, malloc.h is not in Glibc).
#ifndef SV_PROCESS_H
#define SV_PROCESS_H

#include <stdint.h>

/// prctl(PR_SET_DUMPABLE, value): 0 disables core dumps and closes /proc/PID/mem to other users.
/// Returns 0 on success.
int sv_process_set_dumpable(int value);

/// prctl(PR_GET_DUMPABLE).
int sv_process_get_dumpable(void);

/// setrlimit(RLIMIT_CORE, 0). Returns 0 on success.
int sv_process_disable_core_files(void);

/// mallopt(M_PERTURB, byte): glibc fills freed heap chunks with `byte`. Returns 1 on success.
int sv_process_scrub_freed_memory(int byte);

/// Raises RLIMIT_MEMLOCK to `bytes` (privileged), else its soft limit to its hard limit.
int sv_process_raise_memlock_limit(uint64_t bytes);

/// RLIMIT_MEMLOCK's soft limit in bytes; UINT64_MAX when unlimited.
uint64_t sv_process_memlock_limit(void);

#endif
