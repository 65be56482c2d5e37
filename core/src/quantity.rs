//! Kubernetes resource quantities (`"500m"`, `"2Gi"`, `"1.5e3"`), parsed strictly and kept exactly as milli-units.

use std::fmt;
use std::str::FromStr;

/// Largest accepted quantity, in whole units: 8 Ei minus one (`i64::MAX`).
const MAX_UNITS: i128 = i64::MAX as i128;
/// Largest accepted quantity, in milli-units.
const MAX_MILLIS: i128 = MAX_UNITS * 1000;

/// Binary suffixes, each with its power of 1024.
pub(crate) const BINARY_SUFFIXES: [(&str, u32); 6] = [("Ki", 1), ("Mi", 2), ("Gi", 3), ("Ti", 4), ("Pi", 5), ("Ei", 6)];
/// Decimal SI suffixes, each with its power of ten.
pub(crate) const DECIMAL_SUFFIXES: [(&str, i64); 9] = [("n", -9), ("u", -6), ("m", -3), ("k", 3), ("M", 6), ("G", 9), ("T", 12), ("P", 15), ("E", 18)];

/// What to do when a quantity is malformed and no better hint exists.
const FORMAT_HINT: &str = "write a non-negative number with an optional suffix, e.g. \"250m\", \"2\", \"512Mi\", \"1.5Gi\" or \"1G\"";

/// A parsed Kubernetes quantity, kept exactly as milli-units (CPU: millicores; memory/storage: thousandths of a byte).
///
/// Always between zero and 8 Ei − 1 units (`i64::MAX` units) inclusive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    millis: i128,
}

/// Why a string is not an acceptable quantity. The `Display` text says what is wrong and what to do,
/// quotes the offending value, and never names a field (the caller prefixes the field path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    /// The string is empty.
    #[error("\"\" is not a Kubernetes quantity: it is empty; {FORMAT_HINT}")]
    Empty,
    /// The string is not a number with a suffix (bad characters, whitespace, a comma, ...).
    #[error("{}", malformed_message(.value, .suggestion.as_deref()))]
    Malformed {
        /// The offending input.
        value: String,
        /// A hint sentence such as `did you mean "1.5Gi"?`, when one could be derived.
        suggestion: Option<String>,
    },
    /// The number is followed by letters that are not a Kubernetes suffix (e.g. `"2g"`, `"2GB"`).
    #[error("{}", unknown_suffix_message(.value, .suffix, .suggestion.as_deref()))]
    UnknownSuffix {
        /// The offending input.
        value: String,
        /// The unrecognised suffix.
        suffix: String,
        /// A hint sentence such as `did you mean "2Gi" (binary) or "2G" (decimal)?`, when one could be derived.
        suggestion: Option<String>,
    },
    /// The quantity has a leading '-'.
    #[error("{value:?} is negative; quantities must be zero or positive, remove the '-'")]
    Negative {
        /// The offending input.
        value: String,
    },
    /// The quantity is above 8 Ei − 1 units (9223372036854775807).
    #[error("{value:?} is too large; quantities must be at most 9223372036854775807 (8Ei minus one), use a smaller value")]
    TooLarge {
        /// The offending input.
        value: String,
    },
    /// The quantity is not a whole number of milli-units (finer than `1m`, e.g. `"0.0001"` or `"100u"`).
    #[error("{value:?} is more precise than the smallest unit 1m (one thousandth); round it to a whole number of milli-units, e.g. \"1m\" or \"0.001\"")]
    TooPrecise {
        /// The offending input.
        value: String,
    },
}

fn malformed_message(value: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("{value:?} is not a Kubernetes quantity; {s}"),
        None => format!("{value:?} is not a Kubernetes quantity; {FORMAT_HINT}"),
    }
}

fn unknown_suffix_message(value: &str, suffix: &str, suggestion: Option<&str>) -> String {
    match suggestion {
        Some(s) => format!("{value:?} is not a Kubernetes quantity; {s}"),
        None => format!(
            "{value:?} is not a Kubernetes quantity: unknown suffix {suffix:?}; use a decimal suffix \
             (n, u, m, k, M, G, T, P, E) or a binary one (Ki, Mi, Gi, Ti, Pi, Ei), e.g. \"512Mi\""
        ),
    }
}

impl Quantity {
    /// Parses a Kubernetes quantity strictly: no whitespace, no sign other than a leading '+',
    /// nothing finer than `1m`, nothing above 8 Ei − 1. Errors carry a suggestion for common mistakes
    /// (`"2g"`, `"2GB"`, `"512mib"`, `"1K"`, `"2 Gi"`, `"1,5Gi"`).
    pub fn parse(s: &str) -> Result<Quantity, QuantityError> {
        if s.is_empty() {
            return Err(QuantityError::Empty);
        }
        if s.chars().any(char::is_whitespace) {
            return Err(whitespace_error(s));
        }
        if s.contains(',') {
            return Err(comma_error(s));
        }
        parse_strict(s)
    }

    /// A quantity of exactly `millis` milli-units; `None` if negative or above 8 Ei − 1 units.
    pub fn from_millis(millis: i128) -> Option<Quantity> {
        if (0..=MAX_MILLIS).contains(&millis) {
            Some(Quantity { millis })
        } else {
            None
        }
    }

    /// The exact value in milli-units (millicores for CPU, thousandths of a byte for memory).
    pub fn millis(&self) -> i128 {
        self.millis
    }

    /// The sum, or `None` if it would exceed the largest quantity.
    pub fn checked_add(&self, other: &Quantity) -> Option<Quantity> {
        self.millis.checked_add(other.millis).and_then(Quantity::from_millis)
    }

    /// The difference, or `None` if it would be negative.
    pub fn checked_sub(&self, other: &Quantity) -> Option<Quantity> {
        self.millis.checked_sub(other.millis).and_then(Quantity::from_millis)
    }

    /// The product with `n`, or `None` if it would exceed the largest quantity.
    pub fn checked_mul(&self, n: u64) -> Option<Quantity> {
        self.millis.checked_mul(i128::from(n)).and_then(Quantity::from_millis)
    }

    /// Whether the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.millis == 0
    }

    /// Canonical CPU-style string: a plain integer when whole (`"2"`), else milli-units (`"250m"`, `"1500m"`).
    pub fn to_canonical_cpu(&self) -> String {
        let (units, rem) = (self.millis.div_euclid(1000), self.millis.rem_euclid(1000));
        if rem == 0 {
            units.to_string()
        } else {
            format!("{}m", self.millis)
        }
    }

    /// Canonical byte-style string: whole values with the largest exact binary suffix (`"512Mi"`, `"2Gi"`),
    /// else a plain integer (`"1500"`); values that are not whole bytes in milli-units (`"1500m"`).
    pub fn to_canonical_bytes(&self) -> String {
        let (units, rem) = (self.millis.div_euclid(1000), self.millis.rem_euclid(1000));
        if rem != 0 {
            return format!("{}m", self.millis);
        }
        if units == 0 {
            return "0".to_string();
        }
        for (suffix, power) in BINARY_SUFFIXES.iter().rev() {
            let factor = 1i128 << (10 * power);
            if units % factor == 0 {
                return format!("{}{}", units / factor, suffix);
            }
        }
        units.to_string()
    }
}

impl fmt::Display for Quantity {
    /// Same as [`Quantity::to_canonical_cpu`]: a plain integer when whole, else `"<n>m"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_canonical_cpu())
    }
}

impl FromStr for Quantity {
    type Err = QuantityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

/// Error for a value containing whitespace, suggesting the value without it when that parses.
fn whitespace_error(s: &str) -> QuantityError {
    let trimmed = s.trim();
    let inner_space = trimmed.chars().any(char::is_whitespace);
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let suggestion = if compact.is_empty() {
        Some(format!("it contains only whitespace; {FORMAT_HINT}"))
    } else {
        let what = if inner_space { "quantities must not contain spaces" } else { "remove the leading or trailing whitespace" };
        match Quantity::parse(&compact) {
            Ok(_) => Some(format!("{what}; did you mean {compact:?}?")),
            Err(QuantityError::Malformed { suggestion: Some(hint), .. }) | Err(QuantityError::UnknownSuffix { suggestion: Some(hint), .. }) => {
                Some(format!("{what}; {hint}"))
            }
            Err(_) => Some(format!("{what}, and {FORMAT_HINT}")),
        }
    };
    QuantityError::Malformed { value: s.to_string(), suggestion }
}

/// Error for a value containing a comma: a decimal comma (`"1,5Gi"`) or a thousands separator (`"1,000"`).
fn comma_error(s: &str) -> QuantityError {
    let parts: Vec<&str> = s.split(',').collect();
    // A thousands separator: several commas, or one comma followed by exactly three digits then a non-digit or the end.
    let thousands = parts.len() > 2
        || parts.get(1).is_some_and(|after| {
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            digits == 3
        });
    let candidate = if thousands { s.replace(',', "") } else { s.replace(',', ".") };
    let suggestion = match Quantity::parse(&candidate) {
        Ok(_) if thousands => Some(format!("remove the thousands separators: did you mean {candidate:?}?")),
        Ok(_) => Some(format!("use '.' as the decimal separator: did you mean {candidate:?}?")),
        Err(_) => Some(format!("commas are not allowed; {FORMAT_HINT}")),
    };
    QuantityError::Malformed { value: s.to_string(), suggestion }
}

/// Parses a string known to be non-empty and free of whitespace and commas.
fn parse_strict(s: &str) -> Result<Quantity, QuantityError> {
    let malformed = || QuantityError::Malformed { value: s.to_string(), suggestion: None };
    let (body, negative) = match s.strip_prefix('-') {
        Some(rest) => (rest, true),
        None => (s.strip_prefix('+').unwrap_or(s), false),
    };
    // Mantissa: digits with an optional single '.'.
    let num_len = body.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
    let (number, rest) = body.split_at(num_len);
    let mut halves = number.splitn(2, '.');
    let int_digits = halves.next().unwrap_or("");
    let frac_digits = halves.next().unwrap_or("");
    if frac_digits.contains('.') || (int_digits.is_empty() && frac_digits.is_empty()) {
        return Err(malformed());
    }
    if negative {
        return Err(QuantityError::Negative { value: s.to_string() });
    }
    // Power of ten (relative to milli-units) and power of 1024 from the suffix or exponent.
    let (suffix_exp10, binary_power) = parse_suffix(s, number, rest)?;
    let frac_len = i64::try_from(frac_digits.len()).unwrap_or(i64::MAX);
    let exp10 = suffix_exp10.saturating_sub(frac_len).saturating_add(3);

    let digits: Vec<u8> = int_digits.bytes().chain(frac_digits.bytes()).map(|b| b.wrapping_sub(b'0')).collect();
    let millis = exact_millis(&digits, exp10, binary_power).map_err(|e| match e {
        Inexact::TooLarge => QuantityError::TooLarge { value: s.to_string() },
        Inexact::TooPrecise => QuantityError::TooPrecise { value: s.to_string() },
    })?;
    Quantity::from_millis(millis).ok_or_else(|| QuantityError::TooLarge { value: s.to_string() })
}

/// Interprets what follows the number: nothing, an exponent (`e3`, `E-2`), or a suffix.
/// Returns (power of ten, power of 1024).
fn parse_suffix(s: &str, number: &str, rest: &str) -> Result<(i64, u32), QuantityError> {
    if rest.is_empty() {
        return Ok((0, 0));
    }
    if let Some((_, power)) = BINARY_SUFFIXES.iter().find(|(suffix, _)| *suffix == rest) {
        return Ok((0, *power));
    }
    if let Some((_, exp)) = DECIMAL_SUFFIXES.iter().find(|(suffix, _)| *suffix == rest) {
        return Ok((*exp, 0));
    }
    // Exponent: e/E followed by an optionally signed integer.
    if let Some(exp) = rest.strip_prefix(['e', 'E']) {
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => (-1i64, d),
            None => (1i64, exp.strip_prefix('+').unwrap_or(exp)),
        };
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            // Saturate: anything beyond a million is far outside the accepted range either way.
            let magnitude =
                digits.bytes().try_fold(0i64, |acc, b| acc.checked_mul(10)?.checked_add(i64::from(b.wrapping_sub(b'0')))).unwrap_or(i64::MAX).min(1_000_000);
            return Ok((sign.saturating_mul(magnitude), 0));
        }
    }
    let suggestion = suggest_suffix(number, rest);
    if rest.chars().all(|c| c.is_ascii_alphabetic()) {
        Err(QuantityError::UnknownSuffix { value: s.to_string(), suffix: rest.to_string(), suggestion })
    } else {
        Err(QuantityError::Malformed { value: s.to_string(), suggestion })
    }
}

/// A hint for a near-miss suffix: wrong case (`"gi"`, `"K"`), a trailing `B` (`"GB"`, `"GiB"`), and so on.
fn suggest_suffix(number: &str, rest: &str) -> Option<String> {
    let lower = rest.to_ascii_lowercase();
    let stem = lower.strip_suffix('b').unwrap_or(&lower);
    let (letter, binary_only) = match stem.strip_suffix('i') {
        Some(l) => (l, true),
        None => (stem, false),
    };
    if stem.is_empty() {
        // Just "b"/"B": bytes are the unit already.
        return Some(format!("quantities are in bytes already, drop the unit: did you mean {number:?}?"));
    }
    let (decimal, binary) = match letter {
        "k" => ("k", "Ki"),
        "m" => ("M", "Mi"),
        "g" => ("G", "Gi"),
        "t" => ("T", "Ti"),
        "p" => ("P", "Pi"),
        "e" => ("E", "Ei"),
        _ => return None,
    };
    let bin = format!("{number}{binary}");
    let dec = format!("{number}{decimal}");
    if binary_only {
        Some(format!("did you mean {bin:?}?"))
    } else {
        Some(format!("did you mean {bin:?} (binary) or {dec:?} (decimal)?"))
    }
}

/// Why a mantissa/exponent pair is not an acceptable number of milli-units.
enum Inexact {
    TooLarge,
    TooPrecise,
}

/// Computes `digits × 10^exp10 × 1024^binary_power` exactly, where `digits` are decimal digits (0..=9).
fn exact_millis(digits: &[u8], exp10: i64, binary_power: u32) -> Result<i128, Inexact> {
    // Strip leading zeros; all zeros means zero whatever the exponent.
    let start = digits.iter().position(|d| *d != 0);
    let Some(start) = start else { return Ok(0) };
    let digits = digits.get(start..).unwrap_or(&[]);
    // Strip trailing zeros into the exponent.
    let end = digits.iter().rposition(|d| *d != 0).map_or(0, |i| i.saturating_add(1));
    let trailing = digits.len().saturating_sub(end);
    let mut mantissa: Vec<u8> = digits.get(..end).unwrap_or(&[]).to_vec();
    let exp10 = exp10.saturating_add(i64::try_from(trailing).unwrap_or(i64::MAX));
    let len = i64::try_from(mantissa.len()).unwrap_or(i64::MAX);
    let twos = i64::from(binary_power).saturating_mul(10);

    // Magnitude guard: value >= 10^(len-1+exp10); the cap is below 10^22.
    if len.saturating_sub(1).saturating_add(exp10) >= 22 {
        return Err(Inexact::TooLarge);
    }
    if exp10 >= 0 {
        let m = digits_to_i128(&mantissa).ok_or(Inexact::TooLarge)?;
        let scale = 10i128.checked_pow(u32::try_from(exp10).map_err(|_| Inexact::TooLarge)?).ok_or(Inexact::TooLarge)?;
        let bin = 1i128.checked_shl(u32::try_from(twos).map_err(|_| Inexact::TooLarge)?).ok_or(Inexact::TooLarge)?;
        return m.checked_mul(scale).and_then(|v| v.checked_mul(bin)).ok_or(Inexact::TooLarge);
    }
    // Negative exponent k: mantissa × 2^twos must be divisible by 10^k, so 5^k must divide the mantissa. If k
    // exceeded twos, 2 would divide it too, so 10 would, but trailing zeros were stripped: then k <= twos <= 60,
    // which also bounds the work below.
    let k = exp10.checked_neg().ok_or(Inexact::TooPrecise)?;
    if k > twos {
        return Err(Inexact::TooPrecise);
    }
    for _ in 0..k {
        if div_small(&mut mantissa, 5) != 0 {
            return Err(Inexact::TooPrecise);
        }
    }
    let extra_twos = twos.saturating_sub(k).max(0);
    let m = digits_to_i128(&mantissa).ok_or(Inexact::TooLarge)?;
    let bin = 1i128.checked_shl(u32::try_from(extra_twos).map_err(|_| Inexact::TooLarge)?).ok_or(Inexact::TooLarge)?;
    m.checked_mul(bin).ok_or(Inexact::TooLarge)
}

/// Divides a big decimal number (most significant digit first) in place by `d`, returning the remainder.
fn div_small(digits: &mut Vec<u8>, d: u8) -> u8 {
    let mut rem: u16 = 0;
    for digit in digits.iter_mut() {
        let cur = rem.saturating_mul(10).saturating_add(u16::from(*digit));
        *digit = u8::try_from(cur / u16::from(d)).unwrap_or(0);
        rem = cur % u16::from(d);
    }
    let first_nonzero = digits.iter().position(|x| *x != 0).unwrap_or(digits.len());
    digits.drain(..first_nonzero);
    u8::try_from(rem).unwrap_or(0)
}

/// Converts decimal digits to an integer, `None` on overflow (or beyond 39 digits).
fn digits_to_i128(digits: &[u8]) -> Option<i128> {
    digits.iter().try_fold(0i128, |acc, d| acc.checked_mul(10)?.checked_add(i128::from(*d)))
}

#[cfg(test)]
mod tests;
