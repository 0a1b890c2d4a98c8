//! The global allocator of the hyperctl binaries (the `hyperctl` CLI and the
//! TPC-H bench example, which includes this file): mimalloc, told to keep
//! freed memory for a while.
//!
//! glibc's malloc hands large blocks back to the OS, so every batch's
//! buffers cost page faults. mimalloc keeps them, but by default purges
//! freed memory (gives it back to the OS) after a second; the next query's
//! first touch of each page is then a fault and a page of zeros from the
//! kernel. In TPC-H at SF1 that zeroing (`clear_page_erms`) took 25-45% of
//! the CPU of Q12 and Q18 in `perf`, and keeping freed memory for 10 s cut
//! their page faults 2-15x (`perf stat -e page-faults`).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its place in `mi_option_t`, v3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

/// How long freed memory stays with the process before it goes back to the
/// OS: a run of queries reuses it, an idle process returns it.
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

#[allow(unsafe_code)]
unsafe extern "C" {
    /// mimalloc's option setter (the C library that `libmimalloc-sys` links).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// Sets mimalloc's options; call first thing in `main`, before any thread
/// starts (mimalloc's option setters are not thread-safe).
pub(crate) fn configure() {
    #[allow(unsafe_code)]
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table; it
    // takes any option number and value, and `main` calls this before any
    // other thread exists.
    unsafe {
        mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
    };
}
