//! Integers as JSON Schema reads them. The OpenAPI document says `"type": "integer"`, and JSON
//! Schema counts `805.0` as an integer (a number whose fraction is zero); serde's `i64` refuses
//! it. Fields of request bodies that hold integers accept both spellings through these
//! `deserialize_with` helpers, so every body the document admits is read. A fraction, or a
//! number outside `i64`, is still refused.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An `i64` written as an integer or as a number with no fraction.
struct Whole(i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(WholeVisitor).map(Whole)
    }
}

struct WholeVisitor;

/// 2^63: the first `f64` past `i64::MAX` (which is not itself an `f64`).
const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;

impl Visitor<'_> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // -2^63 itself is refused as a float: -9223372036854775809 is read as that float.
        if value.fract() == 0.0 && value > -TWO_TO_63 && value < TWO_TO_63 {
            #[expect(
                clippy::cast_possible_truncation,
                reason = "a whole number inside the i64 range converts exactly"
            )]
            return Ok(value as i64);
        }
        Err(E::invalid_value(de::Unexpected::Float(value), &self))
    }
}

/// For an `i64` field.
pub fn int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    Whole::deserialize(deserializer).map(|whole| whole.0)
}

/// For an `Option<i64>` field (with `#[serde(default)]` when it may be left out).
pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Option::<Whole>::deserialize(deserializer).map(|whole| whole.map(|whole| whole.0))
}

/// For a `Vec<i64>` field.
pub fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<i64>, D::Error> {
    Vec::<Whole>::deserialize(deserializer).map(|list| list.into_iter().map(|w| w.0).collect())
}

/// For an `Option<Vec<i64>>` field (with `#[serde(default)]` when it may be left out).
pub fn option_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<i64>>, D::Error> {
    Option::<Vec<Whole>>::deserialize(deserializer)
        .map(|list| list.map(|list| list.into_iter().map(|w| w.0).collect()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Body {
        #[serde(deserialize_with = "super::int")]
        size: i64,
        #[serde(default, deserialize_with = "super::option")]
        up_to: Option<i64>,
        #[serde(default, deserialize_with = "super::list")]
        ids: Vec<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|error| error.to_string())
    }

    #[test]
    fn whole_numbers_are_read_in_either_spelling() {
        assert_eq!(
            parse(r#"{"size": 805.0, "up_to": 3.0, "ids": [1, 2.0, -7]}"#),
            Ok(Body {
                size: 805,
                up_to: Some(3),
                ids: vec![1, 2, -7]
            })
        );
        assert_eq!(
            parse(r#"{"size": -9223372036854775808, "up_to": null}"#),
            Ok(Body {
                size: i64::MIN,
                up_to: None,
                ids: vec![]
            })
        );
    }

    #[test]
    fn fractions_and_numbers_past_i64_are_refused() {
        for json in [
            r#"{"size": 805.5}"#,
            r#"{"size": 9223372036854775808}"#,
            r#"{"size": 9.3e18}"#,
            r#"{"size": -9223372036854775809}"#,
            r#"{"size": 1e300}"#,
            r#"{"size": "805"}"#,
            r#"{"size": 1, "ids": [1.5]}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }
}
