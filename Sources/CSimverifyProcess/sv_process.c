#include "sv_process.h"

#include <malloc.h>
#include <sys/prctl.h>
#include <sys/resource.h>

int sv_process_set_dumpable(int value) { return prctl(PR_SET_DUMPABLE, value, 0, 0, 0); }

int sv_process_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

int sv_process_disable_core_files(void) {
    struct rlimit none = {0, 0};
    return setrlimit(RLIMIT_CORE, &none);
}

int sv_process_scrub_freed_memory(int byte) { return mallopt(M_PERTURB, byte); }

int sv_process_raise_memlock_limit(uint64_t bytes) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return -1;
    if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= bytes) return 0;
    struct rlimit wanted = {bytes, limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= bytes ? limit.rlim_max : bytes};
    if (setrlimit(RLIMIT_MEMLOCK, &wanted) == 0) return 0;
    // Without privilege, at least use all of the hard limit.
    struct rlimit soft = {limit.rlim_max, limit.rlim_max};
    return setrlimit(RLIMIT_MEMLOCK, &soft);
}

uint64_t sv_process_memlock_limit(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_MEMLOCK, &limit) != 0) return 0;
    return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_cur;
}
