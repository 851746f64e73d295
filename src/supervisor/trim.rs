//! Give back memory an idle supervisor does not use. The supervisor is a
//! fork of the CLI, so it starts with every page of the binary and libc the
//! CLI touched (argument parsing, configuration) counted in its RSS, and
//! with the stack the CLI's parsing grew. A page of a private file mapping
//! that was never copied on write is the page cache's page, so dropping it
//! loses nothing: the ones still needed come back from the page cache on
//! the next touch. Stack pages below the current frame hold nothing live;
//! dropped, they come back as zero pages when the stack grows again.
//!
//! Done by the `Trim` timer a moment after the start (not at once: the
//! launcher and the program are still starting then, on the same CPUs) and
//! with each `idle` event. It reads `/proc/self/maps` and, for the mappings
//! that may hold such pages, `/proc/self/pagemap` (which page is present
//! and whether it is the file's), into buffers on the stack: a trim makes
//! no heap allocation, so it leaves no garbage in the heap it trims.
//!
//! On Linux the supervisor runs in a fresh image of the binary (`fresh.rs`),
//! so the forked CLI's heap, whose freed chunks glibc keeps in the thread's
//! cache where `malloc_trim` cannot return them, is gone; what is trimmed
//! here is the supervisor's own (docs/ARCHITECTURE.md, memory).

/// Drop clean file pages and unused stack, and return free heap to the
/// system (Linux; a no-op elsewhere).
pub fn trim() {
    #[cfg(target_os = "linux")]
    linux::trim();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::c_void;

    use rustix::fd::OwnedFd;
    use rustix::fs::{Mode, OFlags, open};
    use rustix::io::{pread, read};

    /// Stack kept below the frame that drops the rest: enough for the
    /// madvise call it makes (a raw syscall) and the red zone.
    const STACK_MARGIN: usize = 1024;
    /// pagemap bits: the page is present; swapped out; a file page (or
    /// shared anonymous memory), that is, not a private copy.
    const PRESENT: u64 = 1 << 63;
    const SWAPPED: u64 = 1 << 62;
    const FILE_PAGE: u64 = 1 << 61;
    /// The longest `/proc/self/maps` line handled (a path near PATH_MAX
    /// makes a longer one: that mapping is left alone).
    const LINE_MAX: usize = 8192;

    #[inline(never)]
    pub fn trim() {
        let page = page_size();
        let stack = drop_file_pages(page);
        #[cfg(target_env = "gnu")]
        // Safety: malloc_trim only returns free heap memory to the system.
        unsafe {
            nix::libc::malloc_trim(0);
        }
        if let Some(stack) = stack {
            drop_stack(stack, page);
        }
    }

    fn page_size() -> usize {
        // Safety: sysconf reads a constant of the system.
        let n = unsafe { nix::libc::sysconf(nix::libc::_SC_PAGESIZE) };
        usize::try_from(n).unwrap_or(4096).max(4096)
    }

    fn madvise_dontneed(start: usize, len: usize) {
        // Safety: every caller passes pages whose contents need not be
        // kept (see each): MADV_DONTNEED leaves the mapping in place and
        // only drops the pages, read back from the file (a file page) or as
        // zeros (the stack) on the next touch. Nothing else runs
        // concurrently (the supervisor is one thread).
        unsafe {
            let _ =
                rustix::mm::madvise(start as *mut c_void, len, rustix::mm::Advice::LinuxDontNeed);
        }
    }

    /// Go through `/proc/self/maps`: drop the file pages of each private
    /// mapping that nobody can write, and return the stack's range.
    #[inline(never)]
    fn drop_file_pages(page: usize) -> Option<(usize, usize)> {
        let ro = OFlags::RDONLY | OFlags::CLOEXEC;
        let maps = open("/proc/self/maps", ro, Mode::empty()).ok()?;
        let pagemap = open("/proc/self/pagemap", ro, Mode::empty()).ok();
        let mut stack = None;
        let mut buf = [0u8; LINE_MAX];
        let (mut len, mut skipping) = (0, false);
        loop {
            let n = match read(&maps, &mut buf[len..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            len += n;
            let mut at = 0;
            while let Some(nl) = buf[at..len].iter().position(|&b| b == b'\n') {
                let line = &buf[at..at + nl];
                at += nl + 1;
                if std::mem::take(&mut skipping) {
                    continue; // The rest of a line too long to read whole.
                }
                let Some(m) = Mapping::parse(line) else {
                    continue;
                };
                if m.path == b"[stack]" {
                    stack = Some((m.start, m.end));
                } else if let Some(pm) = &pagemap
                    && m.holds_file_pages()
                {
                    drop_clean(pm, m.start, m.end, page);
                }
            }
            buf.copy_within(at..len, 0);
            len -= at;
            if len == buf.len() {
                (len, skipping) = (0, true);
            }
        }
        stack
    }

    /// One line of `/proc/self/maps`.
    struct Mapping<'a> {
        start: usize,
        end: usize,
        perms: &'a [u8],
        inode: &'a [u8],
        path: &'a [u8],
    }

    impl<'a> Mapping<'a> {
        /// `start-end perms offset dev inode   path`.
        fn parse(line: &'a [u8]) -> Option<Mapping<'a>> {
            let mut words = line.split(|&b| b == b' ').filter(|w| !w.is_empty());
            let range = words.next()?;
            let dash = range.iter().position(|&b| b == b'-')?;
            let hex = |s: &[u8]| usize::from_str_radix(std::str::from_utf8(s).ok()?, 16).ok();
            let (start, end) = (hex(&range[..dash])?, hex(&range[dash + 1..])?);
            let perms = words.next()?;
            let (_offset, _dev) = (words.next()?, words.next()?);
            let inode = words.next()?;
            let path = words.next().unwrap_or(b"");
            (start < end).then_some(Mapping {
                start,
                end,
                perms,
                inode,
                path,
            })
        }

        /// Private, backed by a file, and not writable: its pages are the
        /// file's, but those copied on write (relocated data), which
        /// nothing in this process can change between the look at
        /// pagemap and the madvise.
        fn holds_file_pages(&self) -> bool {
            self.perms.len() == 4
                && self.perms[1] != b'w'
                && self.perms[3] == b'p'
                && self.inode != b"0"
                && self.path.first() == Some(&b'/')
        }
    }

    /// Drop the pages of `[start, end)` that pagemap says are the file's
    /// own; keep the private copies. A run of pages without a copy goes in
    /// one call (pages not present in it cost nothing).
    fn drop_clean(pagemap: &OwnedFd, start: usize, end: usize, page: usize) {
        const BATCH: usize = 512;
        let mut entries = [0u8; BATCH * 8];
        let first = start / page;
        let pages = (end - start) / page;
        // The run's start, and whether a page in it is present.
        let mut run: Option<(usize, bool)> = None;
        let flush = |run: &mut Option<(usize, bool)>, at: usize| {
            if let Some((from, true)) = run.take() {
                // Safety (madvise_dontneed): pages of a private mapping
                // nobody can write, none of them a private copy: the file's
                // own contents, or not there at all.
                madvise_dontneed(from, at - from);
            }
        };
        let mut done = 0;
        while done < pages {
            let want = (pages - done).min(BATCH);
            let offset = ((first + done) * 8) as u64;
            let Ok(got) = pread(pagemap, &mut entries[..want * 8], offset) else {
                break;
            };
            let got = got / 8;
            if got == 0 {
                break;
            }
            for (i, e) in entries[..got * 8].chunks_exact(8).enumerate() {
                let e = u64::from_ne_bytes(e.try_into().expect("8 bytes"));
                let at = start + (done + i) * page;
                let present = e & PRESENT != 0;
                let copy = (present && e & FILE_PAGE == 0) || e & SWAPPED != 0;
                if copy {
                    flush(&mut run, at);
                } else {
                    let (from, any) = run.unwrap_or((at, false));
                    run = Some((from, any || present));
                }
            }
            done += got;
        }
        flush(&mut run, start + done * page);
    }

    /// Drop the stack's pages from its lowest address up to
    /// [`STACK_MARGIN`] below this frame: no live frame is there, and
    /// what runs from here on (this madvise, a signal handler) finds them
    /// again as zero pages, all a stack below its pointer may hold.
    #[inline(never)]
    fn drop_stack((start, end): (usize, usize), page: usize) {
        let here = 0u8;
        let sp = std::hint::black_box(&here) as *const u8 as usize;
        if !(start..end).contains(&sp) {
            return;
        }
        let limit = sp.saturating_sub(STACK_MARGIN) & !(page - 1);
        if limit > start {
            madvise_dontneed(start, limit - start);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_private_read_only_file_mappings() {
            let eligible =
                |line: &str| Mapping::parse(line.as_bytes()).is_some_and(|m| m.holds_file_pages());
            assert!(eligible(
                "5555-6666 r-xp 000e4000 fe:00 5325674                    /usr/bin/x"
            ));
            assert!(eligible(
                "6666-7777 r--p 00312000 fe:00 5325674 /usr/lib/libc.so.6"
            ));
            assert!(!eligible("7777-8888 rw-p 00000000 00:00 0  [heap]"));
            assert!(!eligible(
                "7777-8888 rw-p 003af000 fe:00 6687313 /usr/bin/x"
            ));
            assert!(!eligible(
                "7777-8888 r--s 00000000 fe:00 6687313 /dev/shm/y"
            ));
            assert!(!eligible("7777-8888 r-xp 00000000 00:00 0  [vdso]"));
            assert!(!eligible("7777-8888 r--p 00000000 00:00 0"));
            let m = Mapping::parse(b"7ffe0-7fff0 rw-p 00000000 00:00 0   [stack]").unwrap();
            assert_eq!(
                (m.start, m.end, m.path),
                (0x7ffe0, 0x7fff0, &b"[stack]"[..])
            );
        }

        #[test]
        fn trimming_ourselves_is_harmless() {
            // A private copy in a read-only file mapping is kept: relocated
            // data (the GOT, vtables) is still there after a trim.
            let before = format!("{}", 6 * 7);
            trim();
            assert_eq!(before, "42");
            assert_eq!(format!("{:?}", Some(1.5)), "Some(1.5)");
        }
    }
}
