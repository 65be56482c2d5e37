//! Fuzz target: `check_image_reference` on arbitrary UTF-8 never panics, accepts only well-formed references, and every "did you mean" it offers is itself accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moorage::checks::{check_image_reference, image_has_pinned_version};

/// The suggestion quoted in a message (`did you mean "x"?`), when it needs no unescaping.
fn suggestion(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("did you mean \"")?;
    let (s, _) = rest.split_once("\"?")?;
    (!s.contains('\\')).then_some(s)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match check_image_reference(text) {
        Ok(()) => {
            assert!(!text.is_empty() && !text.chars().any(char::is_whitespace), "{text:?} accepted");
            assert!(!text.contains("://"), "{text:?} accepted with a URL scheme");
            let name = text.split(['@']).next().unwrap_or_default();
            assert!(!name.ends_with('/') && !name.contains("//"), "{text:?} accepted with an empty path component");
        }
        Err(message) => {
            assert!(!message.is_empty());
            assert!(!image_has_pinned_version(text), "{text:?} is invalid yet counted as pinned");
            if let Some(s) = suggestion(&message) {
                assert_eq!(check_image_reference(s), Ok(()), "{text:?}: the suggestion {s:?} is refused");
            }
        }
    }
});
