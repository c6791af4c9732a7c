//! The servers' global allocator: mimalloc, asked the way C asks malloc.
//!
//! The `mimalloc` crate passes every allocation to `mi_malloc_aligned`,
//! whose path is longer than `mi_malloc`'s (76 instructions against about
//! 43 under callgrind), and a small transaction allocates some eighty
//! blocks (JSON, datums, rows, the log record): 2% of its instructions.
//! `mi_malloc`'s blocks have the alignment C's malloc promises: a word, and
//! 16 bytes (`max_align_t`) for blocks of 16 bytes or more, since its size
//! classes above one word are whole multiples of 16 bytes. That covers
//! nearly every Rust type (a `Uuid`, a `u128`, aligns to 16 and is 16
//! bytes long); the rest still go the aligned way.
//!
//! ```text
//! #[global_allocator]
//! static GLOBAL: ovsdb_server::alloc::Allocator = ovsdb_server::alloc::Allocator;
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys as mi;

/// The alignment of every mimalloc block at least as large (its
/// `MI_MAX_ALIGN_SIZE`).
const MAX_ALIGN: usize = 16;

/// Whether a plain `mi_malloc` block of `size` bytes is aligned enough.
#[inline]
fn plain(size: usize, align: usize) -> bool {
    align <= MAX_ALIGN && align <= size
}

/// mimalloc as the global allocator.
pub struct Allocator;

// SAFETY: each method forwards to the mimalloc function with the same
// contract, asking for the layout's alignment whenever it exceeds what
// plain mimalloc blocks are guaranteed to have.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain(layout.size(), layout.align()) {
            // SAFETY: plain allocation of a nonzero size.
            unsafe { mi::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the alignment is a power of two, as Layout ensures.
            unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain(layout.size(), layout.align()) {
            // SAFETY: as in `alloc`.
            unsafe { mi::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: as in `alloc`.
            unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator.
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain(new_size, layout.align()) {
            // SAFETY: `ptr` came from this allocator; a block of
            // `new_size` is aligned enough, wherever mimalloc moves it.
            unsafe { mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast() }
        } else {
            // SAFETY: as above, with the alignment asked for again.
            unsafe { mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every size and alignment come back aligned as asked,
    /// keep their contents when grown or shrunk, and zeroed ones are zero.
    #[test]
    fn blocks_are_aligned_and_keep_their_contents() {
        let a = Allocator;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 8, 15, 16, 17, 24, 40, 100, 1000, 5000, 70_000, 1 << 21] {
                let l = Layout::from_size_align(size, align).unwrap();
                // SAFETY: nonzero sizes; each block is freed with its layout.
                unsafe {
                    let p = a.alloc(l);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size} align {align}");
                    for i in 0..size {
                        *p.add(i) = i as u8;
                    }
                    let bigger = size * 3 + 7;
                    let q = a.realloc(p, l, bigger);
                    assert_eq!(q as usize % align, 0, "realloc size {size} align {align}");
                    assert!((0..size).all(|i| *q.add(i) == i as u8));
                    let smaller = size.div_ceil(2);
                    let r = a.realloc(q, Layout::from_size_align(bigger, align).unwrap(), smaller);
                    assert_eq!(r as usize % align, 0);
                    assert!((0..smaller).all(|i| *r.add(i) == i as u8));
                    a.dealloc(r, Layout::from_size_align(smaller, align).unwrap());
                    let z = a.alloc_zeroed(l);
                    assert_eq!(z as usize % align, 0);
                    assert!((0..size).all(|i| *z.add(i) == 0));
                    a.dealloc(z, l);
                }
            }
        }
    }
}
