//! Tests of quantity parsing, arithmetic, display and suggestions.

use super::*;
use proptest::prelude::*;

fn q(s: &str) -> i128 {
    match Quantity::parse(s) {
        Ok(v) => v.millis(),
        Err(e) => panic!("{s:?} should parse: {e}"),
    }
}

fn err(s: &str) -> QuantityError {
    match Quantity::parse(s) {
        Ok(v) => panic!("{s:?} should not parse, got {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn plain_numbers_and_fractions() {
    assert_eq!(q("0"), 0);
    assert_eq!(q("1"), 1000);
    assert_eq!(q("+1"), 1000);
    assert_eq!(q("0.5"), 500);
    assert_eq!(q(".5"), 500);
    assert_eq!(q("5."), 5000);
    assert_eq!(q("0.001"), 1);
    assert_eq!(q("007"), 7000);
    assert_eq!(q("1.500"), 1500);
    assert_eq!(q("0.000"), 0);
}

#[test]
fn decimal_suffixes() {
    assert!(matches!(err("1000n"), QuantityError::TooPrecise { .. }));
    assert_eq!(q("1000000n"), 1);
    assert_eq!(q("1000u"), 1);
    assert_eq!(q("250m"), 250);
    assert_eq!(q("1k"), 1_000_000);
    assert_eq!(q("1M"), 1_000_000_000);
    assert_eq!(q("1G"), 1_000_000_000_000);
    assert_eq!(q("1T"), 1_000_000_000_000_000);
    assert_eq!(q("1P"), 1_000_000_000_000_000_000);
    assert_eq!(q("1E"), 1_000_000_000_000_000_000_000);
    assert_eq!(q("1.5G"), 1_500_000_000_000);
}

#[test]
fn binary_suffixes() {
    assert_eq!(q("1Ki"), 1024 * 1000);
    assert_eq!(q("1Mi"), (1 << 20) * 1000);
    assert_eq!(q("1Gi"), (1 << 30) * 1000);
    assert_eq!(q("1Ti"), (1i128 << 40) * 1000);
    assert_eq!(q("1Pi"), (1i128 << 50) * 1000);
    assert_eq!(q("1Ei"), (1i128 << 60) * 1000);
    assert_eq!(q("1.5Gi"), (3i128 << 29) * 1000);
    assert_eq!(q("0.5Ki"), 512_000);
    // 2^-57 Ei is exactly 8 bytes.
    assert_eq!(q("0.000000000000000006938893903907228377647697925567626953125Ei"), 8000);
}

#[test]
fn exponents() {
    assert_eq!(q("1e3"), 1_000_000);
    assert_eq!(q("1E3"), 1_000_000);
    assert_eq!(q("1.5E2"), 150_000);
    assert_eq!(q("1e-3"), 1);
    assert_eq!(q("1e+3"), 1_000_000);
    assert_eq!(q("0e999999999999999999999"), 0);
    assert!(matches!(err("1e-4"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("1e19"), QuantityError::TooLarge { .. }));
    assert!(matches!(err("1e99999999999999999999"), QuantityError::TooLarge { .. }));
    assert!(matches!(err("1e-99999999999999999999"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("1e"), QuantityError::UnknownSuffix { .. }));
    assert!(matches!(err("1e3Gi"), QuantityError::Malformed { .. }));
}

#[test]
fn precision_and_range() {
    assert!(matches!(err("0.0001"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("0.1m"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("100u"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("1n"), QuantityError::TooPrecise { .. }));
    assert!(matches!(err("8Ei"), QuantityError::TooLarge { .. }));
    assert!(matches!(err("9223372036854775808"), QuantityError::TooLarge { .. }));
    assert!(matches!(err("10E"), QuantityError::TooLarge { .. }));
    assert_eq!(q("9223372036854775807"), MAX_MILLIS);
    assert_eq!(q("7Ei"), (7i128 << 60) * 1000);
    let long = format!("1{}", "0".repeat(200));
    assert!(matches!(err(&long), QuantityError::TooLarge { .. }));
    let tiny = format!("0.{}1", "0".repeat(200));
    assert!(matches!(err(&tiny), QuantityError::TooPrecise { .. }));
    // Long inputs stay cheap: 5^k-divisible mantissas, huge digit strings.
    let fives = format!("0.{}Ki", "5".repeat(100_000));
    assert!(matches!(err(&fives), QuantityError::TooPrecise { .. } | QuantityError::TooLarge { .. }));
    let many = "9".repeat(100_000);
    assert!(matches!(err(&many), QuantityError::TooLarge { .. }));
}

#[test]
fn rejects_malformed() {
    assert_eq!(err(""), QuantityError::Empty);
    for s in ["abc", ".", "+", "1.2.3", "0x10", "1/2", "++1", "1_000", "∞", "1e3.5"] {
        let e = err(s);
        assert!(matches!(e, QuantityError::Malformed { .. } | QuantityError::UnknownSuffix { .. }), "{s:?}: {e:?}");
    }
    assert!(matches!(err("-1"), QuantityError::Negative { .. }));
    assert!(matches!(err("-1Gi"), QuantityError::Negative { .. }));
    assert!(matches!(err("-0"), QuantityError::Negative { .. }));
    assert!(err("-1Gi").to_string().contains("\"-1Gi\" is negative"));
}

#[test]
fn suggestions() {
    let cases = [
        ("2g", "did you mean \"2Gi\" (binary) or \"2G\" (decimal)?"),
        ("2gb", "did you mean \"2Gi\" (binary) or \"2G\" (decimal)?"),
        ("2GB", "did you mean \"2Gi\" (binary) or \"2G\" (decimal)?"),
        ("2gi", "did you mean \"2Gi\"?"),
        ("2GI", "did you mean \"2Gi\"?"),
        ("2GiB", "did you mean \"2Gi\"?"),
        ("2mb", "did you mean \"2Mi\" (binary) or \"2M\" (decimal)?"),
        ("512mib", "did you mean \"512Mi\"?"),
        ("1kb", "did you mean \"1Ki\" (binary) or \"1k\" (decimal)?"),
        ("1KB", "did you mean \"1Ki\" (binary) or \"1k\" (decimal)?"),
        ("1K", "did you mean \"1Ki\" (binary) or \"1k\" (decimal)?"),
        ("1ki", "did you mean \"1Ki\"?"),
        ("2 Gi", "did you mean \"2Gi\"?"),
        ("2 GB", "did you mean \"2Gi\" (binary) or \"2G\" (decimal)?"),
        ("100 m", "did you mean \"100m\"?"),
        (" 2Gi", "remove the leading or trailing whitespace; did you mean \"2Gi\"?"),
        ("2Gi\n", "remove the leading or trailing whitespace; did you mean \"2Gi\"?"),
        ("1,5Gi", "did you mean \"1.5Gi\"?"),
        ("1,000", "did you mean \"1000\"?"),
        ("100B", "did you mean \"100\"?"),
    ];
    for (input, hint) in cases {
        let msg = err(input).to_string();
        assert!(msg.contains(hint), "{input:?}: {msg}");
        assert!(msg.contains(&format!("{input:?}")), "{input:?} not quoted: {msg}");
    }
    assert_eq!(err("2g").to_string(), "\"2g\" is not a Kubernetes quantity; did you mean \"2Gi\" (binary) or \"2G\" (decimal)?");
    assert_eq!(
        err("2g"),
        QuantityError::UnknownSuffix { value: "2g".into(), suffix: "g".into(), suggestion: Some("did you mean \"2Gi\" (binary) or \"2G\" (decimal)?".into()) }
    );
    // No hint possible: still says what to do.
    let msg = err("5x").to_string();
    assert!(msg.contains("unknown suffix \"x\"") && msg.contains("Mi"), "{msg}");
    assert!(err("abc").to_string().contains("e.g."));
    assert!(err("").to_string().contains("e.g."));
    assert!(err("   ").to_string().contains("only whitespace"));
}

#[test]
fn canonical_formatting() {
    let f = |s: &str| {
        let v = Quantity::parse(s).unwrap_or_else(|e| panic!("{e}"));
        (v.to_canonical_cpu(), v.to_canonical_bytes(), v.to_string())
    };
    assert_eq!(f("250m"), ("250m".into(), "250m".into(), "250m".into()));
    assert_eq!(f("2"), ("2".into(), "2".into(), "2".into()));
    assert_eq!(f("1.5"), ("1500m".into(), "1500m".into(), "1500m".into()));
    assert_eq!(f("512Mi"), ("536870912".into(), "512Mi".into(), "536870912".into()));
    assert_eq!(f("2048Mi"), ("2147483648".into(), "2Gi".into(), "2147483648".into()));
    assert_eq!(f("1.5Gi"), ("1610612736".into(), "1536Mi".into(), "1610612736".into()));
    assert_eq!(f("1500"), ("1500".into(), "1500".into(), "1500".into()));
    assert_eq!(f("1k"), ("1000".into(), "1000".into(), "1000".into()));
    assert_eq!(f("0"), ("0".into(), "0".into(), "0".into()));
    assert_eq!(f("3Ei"), ("3458764513820540928".into(), "3Ei".into(), "3458764513820540928".into()));
}

#[test]
fn ordering_and_arithmetic() {
    let p = |s: &str| Quantity::parse(s).unwrap_or_else(|e| panic!("{e}"));
    assert!(p("1Gi") > p("1G"));
    assert!(p("1000m") == p("1"));
    assert!(p("999m") < p("1"));
    assert_eq!(p("1Gi").checked_add(&p("1Gi")), Some(p("2Gi")));
    assert_eq!(p("2Gi").checked_sub(&p("512Mi")), Some(p("1536Mi")));
    assert_eq!(p("1").checked_sub(&p("2")), None);
    assert_eq!(p("1").checked_sub(&p("1")).map(|v| v.is_zero()), Some(true));
    assert_eq!(p("250m").checked_mul(4), Some(p("1")));
    assert_eq!(p("7Ei").checked_add(&p("1Ei")), None);
    assert_eq!(p("1Ei").checked_mul(8), None);
    assert_eq!(p("1Ei").checked_mul(u64::MAX), None);
    assert_eq!(p("0").checked_mul(u64::MAX), Some(p("0")));
    assert_eq!(Quantity::from_millis(-1), None);
    assert_eq!(Quantity::from_millis(MAX_MILLIS + 1), None);
    assert_eq!(Quantity::from_millis(MAX_MILLIS).map(|v| v.millis()), Some(MAX_MILLIS));
    assert_eq!("2Gi".parse::<Quantity>(), Ok(p("2Gi")));
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(s in "\\PC*") {
        let _ = Quantity::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_quantity_like(s in "[-+]?[0-9.,]{0,30}([eE][-+]?[0-9]{0,25}|[numkKMGTPEi bB]{0,3})") {
        if let Ok(v) = Quantity::parse(&s) {
            prop_assert!(v.millis() >= 0 && v.millis() <= MAX_MILLIS);
        }
    }

    #[test]
    fn millis_round_trip(n in any::<u64>()) {
        let v = Quantity::from_millis(i128::from(n)).ok_or_else(|| TestCaseError::fail("in range"))?;
        prop_assert_eq!(Quantity::parse(&v.to_canonical_cpu()), Ok(v.clone()));
        prop_assert_eq!(Quantity::parse(&v.to_canonical_bytes()), Ok(v.clone()));
        prop_assert_eq!(Quantity::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn mebibytes(n in 0u64..(1u64 << 43)) {
        let v = Quantity::parse(&format!("{n}Mi")).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(v.millis(), i128::from(n) * (1 << 20) * 1000);
    }

    #[test]
    fn add_sub_inverse(a in 0i128..(1i128 << 70), b in 0i128..(1i128 << 70)) {
        let (qa, qb) = (Quantity::from_millis(a), Quantity::from_millis(b));
        if let (Some(qa), Some(qb)) = (qa, qb) {
            if let Some(sum) = qa.checked_add(&qb) {
                prop_assert_eq!(sum.checked_sub(&qb), Some(qa));
            }
        }
    }
}
