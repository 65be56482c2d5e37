//! Fuzz target: `check_hostname` on arbitrary UTF-8 never panics, accepts only well-formed hosts, and every "did you mean" it offers is itself accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moorage::checks::check_hostname;

/// The suggestion quoted at the end of a message (`...: did you mean "x"?`), when it needs no
/// unescaping. Anchored at the end: the message also echoes the input, which may itself contain
/// `did you mean ` (found by this target: `t.did you mean `).
fn suggestion(message: &str) -> Option<&str> {
    let (_, s) = message.strip_suffix("\"?")?.rsplit_once(": did you mean \"")?;
    (!s.contains('\\')).then_some(s)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for allow_wildcard in [false, true] {
        match check_hostname(text, allow_wildcard) {
            Ok(()) => {
                assert!(text.len() <= 253, "{text:?} accepted with {} characters", text.len());
                assert!(text.contains('.'), "{text:?} accepted with a single label");
                assert!(
                    text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'*'),
                    "{text:?} accepted with characters outside [a-z0-9.-*]"
                );
                assert!(allow_wildcard || !text.contains('*'), "{text:?} accepted as a wildcard where wildcards are refused");
                if !allow_wildcard {
                    assert_eq!(check_hostname(text, true), Ok(()), "allowing wildcards refuses {text:?}");
                }
            }
            Err(message) => {
                assert!(!message.is_empty());
                if let Some(s) = suggestion(&message) {
                    assert_eq!(check_hostname(s, allow_wildcard), Ok(()), "{text:?}: the suggestion {s:?} is refused");
                }
            }
        }
    }
});
