//! Give back memory an idle supervisor does not use. The supervisor is a
//! fork of the CLI, so it starts with every page of the binary and libc the
//! CLI touched (argument parsing, configuration) counted in its RSS, and
//! with the stack the CLI's parsing grew. Clean, private, file-backed pages
//! (none copied on write) hold exactly what is in the file, so dropping
//! them loses nothing: the ones still needed come back from the page cache
//! on the next touch. Stack pages below the current frame hold nothing
//! live; dropped, they come back as zero pages when the stack grows again.
//! Done once the session runs and each time it goes idle.

/// Drop clean file pages and unused stack, and return free heap to the
/// system (Linux; a no-op elsewhere).
pub fn trim() {
    #[cfg(target_os = "linux")]
    linux::trim();
}

#[cfg(target_os = "linux")]
mod linux {
    use std::ffi::c_void;

    /// Stack below the current frame kept anyway, for the calls made from
    /// here on (far more than they use).
    const STACK_MARGIN: usize = 8 * 1024;
    const PAGE: usize = 4096;

    pub fn trim() {
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return;
        };
        trim_stack(&smaps);
        let ranges = clean_file_mappings(&smaps);
        // Freed before malloc_trim, or it would keep the heap's top in use.
        drop(smaps);
        for &(start, end) in &ranges {
            // Safety: the range is a whole mapping of this process backed by
            // a file, not writable, with no anonymous (copied-on-write)
            // pages, so its contents are the page cache's; MADV_DONTNEED on it only drops
            // pages that the kernel will read back from the file on demand.
            // Nothing else runs concurrently (the supervisor is one thread).
            unsafe {
                let _ = rustix::mm::madvise(
                    start as *mut c_void,
                    end - start,
                    rustix::mm::Advice::LinuxDontNeed,
                );
            }
        }
        drop(ranges);
        #[cfg(target_env = "gnu")]
        // Safety: malloc_trim only returns free heap memory to the system.
        unsafe {
            nix::libc::malloc_trim(0);
        }
    }

    /// Drop the stack's pages from its lowest address up to
    /// [`STACK_MARGIN`] below this frame.
    #[inline(never)]
    fn trim_stack(smaps: &str) {
        let here = 0u8;
        let sp = std::hint::black_box(&here) as *const u8 as usize;
        let Some((start, _)) = smaps
            .lines()
            .filter(|l| l.ends_with("[stack]"))
            .find_map(|l| {
                let (a, b) = l.split_whitespace().next()?.split_once('-')?;
                let (s, e) = (
                    usize::from_str_radix(a, 16).ok()?,
                    usize::from_str_radix(b, 16).ok()?,
                );
                (s <= sp && sp < e).then_some((s, e))
            })
        else {
            return;
        };
        let end = (sp.saturating_sub(STACK_MARGIN)) & !(PAGE - 1);
        if end > start {
            // Safety: [start, end) is the part of this (the only) thread's
            // stack that lies more than STACK_MARGIN below the current
            // frame: no live frame is there, and the calls made from here
            // (madvise) use far less than the margin. A signal handler runs
            // only before or after the call, on pages it faults in again.
            // MADV_DONTNEED makes those pages read back as zeros, which is
            // all a stack below its pointer may hold.
            unsafe {
                let _ = rustix::mm::madvise(
                    start as *mut c_void,
                    end - start,
                    rustix::mm::Advice::LinuxDontNeed,
                );
            }
        }
    }

    /// Address ranges of private, file-backed, read-only mappings with no
    /// anonymous (copied-on-write) pages.
    pub fn clean_file_mappings(smaps: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut cur: Option<(usize, usize, bool)> = None;
        let mut clean = true;
        let finish =
            |cur: Option<(usize, usize, bool)>, clean: bool, out: &mut Vec<(usize, usize)>| {
                if let Some((s, e, eligible)) = cur
                    && eligible
                    && clean
                {
                    out.push((s, e));
                }
            };
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let Some(first) = words.next() else { continue };
            if let Some((a, b)) = first.split_once('-')
                && let (Ok(s), Ok(e)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16))
            {
                finish(cur.take(), clean, &mut out);
                let perms = words.next().unwrap_or("");
                let _offset = words.next();
                let _dev = words.next();
                let inode = words.next().unwrap_or("0");
                let path = words.next().unwrap_or("");
                // Private (p), not writable, backed by a real file.
                let eligible = perms.len() == 4
                    && perms.ends_with('p')
                    && !perms.contains('w')
                    && inode != "0"
                    && path.starts_with('/');
                cur = Some((s, e, eligible));
                clean = true;
                continue;
            }
            // Pages copied on write are anonymous; without any, every page
            // is the page cache's (dirty there or not, it is the file).
            if matches!(first, "Anonymous:" | "Swap:") && words.next().is_some_and(|v| v != "0") {
                clean = false;
            }
        }
        finish(cur, clean, &mut out);
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_clean_read_only_file_mappings() {
            let smaps = "\
5555-6666 r-xp 000e4000 fe:00 5325674 /usr/bin/x
Rss: 100 kB
Private_Dirty: 0 kB
Anonymous: 0 kB
6666-7777 r--p 00312000 fe:00 5325674 /usr/bin/x
Private_Dirty: 180 kB
Anonymous: 180 kB
7000-7100 r--p 00312000 fe:00 5325674 /usr/bin/x
Private_Dirty: 8 kB
Swap: 4 kB
7777-8888 rw-p 00000000 00:00 0 [heap]
Private_Dirty: 172 kB
9999-aaaa r--p 00000000 fe:00 326279 /usr/lib/libc.so.6
Private_Dirty: 12 kB
Anonymous: 0 kB
";
            assert_eq!(
                clean_file_mappings(smaps),
                vec![(0x5555, 0x6666), (0x9999, 0xaaaa)]
            );
        }

        #[test]
        fn trimming_ourselves_is_harmless() {
            trim();
            // Code and data are still there.
            assert_eq!(clean_file_mappings("").len(), 0);
            assert!(format!("{}", 6 * 7) == "42");
        }
    }
}
