//! Validators for Kubernetes names, labels, Ingress host names, image references, cron schedules and durations.

// Every checker returns `Err(message)` where the message quotes the offending value, says what is wrong and what
// to do, and never names a field: the caller prefixes the field path (`tenant.name: <message>`).

mod cron;
mod duration;
mod hostname;
mod image;
mod labels;
mod names;

pub use cron::check_cron_schedule;
pub use duration::{duration_from_seconds, format_duration, parse_duration};
pub use hostname::check_hostname;
pub use image::{check_image_reference, image_has_pinned_version};
pub use labels::{check_label_key, check_label_value};
pub use names::{check_dns1123_label, check_dns1123_label_max, check_dns1123_subdomain, check_secret_name, redact_userinfo};

/// The message of a checker's refusal (tests).
#[cfg(test)]
fn err<T: std::fmt::Debug>(r: Result<T, String>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

/// Properties of every checker together: no input panics or takes long, and what they accept or suggest is valid.
#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use proptest::prelude::*;

    fn any_checker(s: &str) {
        let _ = check_dns1123_label(s);
        let _ = check_dns1123_label_max(s, 10);
        let _ = check_dns1123_subdomain(s);
        let _ = check_label_key(s);
        let _ = check_label_value(s);
        let _ = check_hostname(s, true);
        let _ = check_hostname(s, false);
        let _ = check_image_reference(s);
        let _ = image_has_pinned_version(s);
        let _ = check_cron_schedule(s);
        let _ = parse_duration(s);
    }

    #[test]
    fn long_and_nested_inputs_stay_cheap() {
        for s in [
            "https://".repeat(10_000),
            "a.".repeat(50_000),
            "A.".repeat(50_000) + ":80",
            "a/".repeat(50_000),
            "1h".repeat(50_000),
            "*/1,".repeat(25_000),
            " ".repeat(100_000),
            "ö".repeat(50_000),
        ] {
            any_checker(&s);
        }
        assert!(err(check_image_reference("https://https://nginx")).contains("URL scheme"));
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn checkers_never_panic(s in "\\PC*") {
            any_checker(&s);
        }

        #[test]
        fn checkers_never_panic_on_near_misses(s in "[a-zA-Z0-9._:/@*?, -]{0,40}") {
            any_checker(&s);
        }

        #[test]
        fn valid_labels_pass(s in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?") {
            prop_assert_eq!(check_dns1123_label(&s), Ok(()));
            prop_assert_eq!(check_dns1123_subdomain(&s), Ok(()));
            prop_assert_eq!(check_label_value(&s), Ok(()));
            prop_assert_eq!(check_label_key(&s), Ok(()));
            prop_assert_eq!(check_hostname(&format!("{s}.example.com"), false), Ok(()));
        }

        #[test]
        fn valid_label_keys_pass(
            prefix in "([a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\\.){0,3}[a-z]{2,10}",
            name in "[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
        ) {
            prop_assert_eq!(check_label_key(&format!("{prefix}/{name}")), Ok(()));
            prop_assert_eq!(check_label_value(&name), Ok(()));
        }

        #[test]
        fn fixed_up_labels_are_valid(s in "\\PC{0,80}") {
            if let Err(msg) = check_dns1123_label(&s) {
                if let Some((_, suggestion)) = msg.split_once("did you mean ") {
                    let inner = suggestion.trim_end_matches('?').trim_matches('"');
                    prop_assert_eq!(check_dns1123_label(inner), Ok(()));
                }
            }
        }

        #[test]
        fn valid_images_pass(
            repo in "[a-z0-9]{1,8}((\\.|_|__|-+)[a-z0-9]{1,8}){0,2}(/[a-z0-9]{1,8}){0,2}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}",
        ) {
            let bare = format!("library/{repo}");
            prop_assert_eq!(check_image_reference(&bare), Ok(()));
            let tagged = format!("registry.example.com:5000/{repo}:{tag}");
            prop_assert_eq!(check_image_reference(&tagged), Ok(()));
            prop_assert_eq!(image_has_pinned_version(&tagged), tag != "latest");
        }

        #[test]
        fn valid_crons_pass(
            minute in 0u32..60, hour in 0u32..24, dom in 1u32..32, month in 1u32..13, dow in 0u32..7, step in 1u32..100,
        ) {
            let schedule = format!("{minute}/{step} {hour} {dom} {month} {dow}");
            prop_assert_eq!(check_cron_schedule(&schedule), Ok(()));
        }

        #[test]
        fn durations_round_trip(secs in any::<u64>(), nanos in 0u32..1_000_000_000) {
            let d = Duration::new(secs, nanos);
            prop_assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }

        #[test]
        fn small_durations_round_trip(secs in 0u64..1_000_000, millis in 0u32..1000) {
            let d = Duration::new(secs, millis * 1_000_000);
            let text = format_duration(d);
            prop_assert!(!text.contains('.'));
            prop_assert_eq!(parse_duration(&text), Ok(d));
        }
    }
}
