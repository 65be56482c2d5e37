//! Fuzz target: every validator in `moorage::checks` and `parse_duration` on arbitrary UTF-8 never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moorage::checks;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let max_len = data.first().map_or(63, |b| usize::from(*b % 64));
    let _ = checks::check_dns1123_label(text);
    let _ = checks::check_dns1123_label_max(text, max_len);
    let _ = checks::check_dns1123_subdomain(text);
    let _ = checks::check_label_key(text);
    let _ = checks::check_label_value(text);
    let _ = checks::check_hostname(text, true);
    let _ = checks::check_hostname(text, false);
    let _ = checks::check_image_reference(text);
    let _ = checks::image_has_pinned_version(text);
    let _ = checks::check_cron_schedule(text);
    if let Ok(d) = checks::parse_duration(text) {
        // The canonical form reads back to the same duration.
        assert_eq!(checks::parse_duration(&checks::format_duration(d)), Ok(d));
    }
});
