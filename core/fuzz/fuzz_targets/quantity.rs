//! Fuzz target: `Quantity::parse` on arbitrary UTF-8 never panics, and what it accepts is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moorage::quantity::Quantity;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Quantity::parse(text) {
        Ok(q) => {
            // Accepted values are in range and their canonical forms read back to the same value.
            assert!(q.millis() >= 0);
            assert_eq!(Quantity::parse(&q.to_canonical_cpu()).ok(), Some(q.clone()));
            assert_eq!(Quantity::parse(&q.to_canonical_bytes()).ok(), Some(q.clone()));
            assert_eq!(Quantity::from_millis(q.millis()), Some(q.clone()));
            let _ = q.checked_add(&q);
            let _ = q.checked_sub(&q);
            let _ = q.checked_mul(u64::MAX);
        }
        Err(e) => {
            // Every message is non-empty text.
            assert!(!e.to_string().is_empty());
        }
    }
});
