//! A deserializer that reads structs only from mappings, as spec files are read.
//!
//! serde's derived structs also accept a sequence, field by field in order, and serde_json offers
//! it to them: `http: ["/web/login"]` would be read as `http: {path: /web/login}`, and a canary
//! step `[20]` as `setWeight: 20`, where a YAML file is refused (`invalid type: sequence, expected
//! struct ...`). [`StructsFromMaps`] wraps any deserializer (serde_json's, on a program's JSON text
//! or value) and asks it for a mapping wherever a struct is read; everything else is forwarded.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

/// A deserializer whose structs are read from mappings only (see the module's documentation).
pub(crate) struct StructsFromMaps<D>(pub(crate) D);

/// A visitor, access or seed whose deserializers are wrapped in [`StructsFromMaps`] in turn.
struct Wrap<T>(T);

macro_rules! forward_deserialize {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* Wrap(visitor))
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for StructsFromMaps<D> {
    type Error = D::Error;

    /// The one change: a struct is asked for as a mapping.
    fn deserialize_struct<V: Visitor<'de>>(self, _name: &'static str, _fields: &'static [&'static str], visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(Wrap(visitor))
    }

    forward_deserialize! {
        deserialize_any() deserialize_bool() deserialize_i8() deserialize_i16() deserialize_i32()
        deserialize_i64() deserialize_i128() deserialize_u8() deserialize_u16() deserialize_u32()
        deserialize_u64() deserialize_u128() deserialize_f32() deserialize_f64() deserialize_char()
        deserialize_str() deserialize_string() deserialize_bytes() deserialize_byte_buf()
        deserialize_option() deserialize_unit() deserialize_unit_struct(name: &'static str)
        deserialize_newtype_struct(name: &'static str) deserialize_seq() deserialize_tuple(len: usize)
        deserialize_tuple_struct(name: &'static str, len: usize) deserialize_map()
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
        deserialize_identifier() deserialize_ignored_any()
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

macro_rules! forward_visit {
    ($($method:ident($ty:ty))*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<V::Value, E> {
            self.0.$method(v)
        }
    )*};
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    forward_visit! {
        visit_bool(bool) visit_i8(i8) visit_i16(i16) visit_i32(i32) visit_i64(i64) visit_i128(i128)
        visit_u8(u8) visit_u16(u16) visit_u32(u32) visit_u64(u64) visit_u128(u128) visit_f32(f32)
        visit_f64(f64) visit_char(char) visit_str(&str) visit_borrowed_str(&'de str) visit_string(String)
        visit_bytes(&[u8]) visit_borrowed_bytes(&'de [u8]) visit_byte_buf(Vec<u8>)
    }

    fn visit_none<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<V::Value, E> {
        self.0.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_some(StructsFromMaps(d))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(StructsFromMaps(d))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<V::Value, A::Error> {
        self.0.visit_seq(Wrap(seq))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.0.visit_map(Wrap(map))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<V::Value, A::Error> {
        self.0.visit_enum(Wrap(data))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Wrap<S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.0.deserialize(StructsFromMaps(d))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, A::Error> {
        self.0.next_element_seed(Wrap(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(Wrap(seed))
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        self.0.next_value_seed(Wrap(seed))
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

impl<'de, A: EnumAccess<'de>> EnumAccess<'de> for Wrap<A> {
    type Error = A::Error;
    type Variant = Wrap<A::Variant>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Wrap<A::Variant>), A::Error> {
        let (value, variant) = self.0.variant_seed(Wrap(seed))?;
        Ok((value, Wrap(variant)))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Wrap<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        self.0.unit_variant()
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.0.newtype_variant_seed(Wrap(seed))
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.0.tuple_variant(len, Wrap(visitor))
    }

    /// A struct variant's fields from a mapping too: read as a newtype variant's value, through
    /// [`StructsFromMaps::deserialize_struct`].
    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        self.0.newtype_variant_seed(StructSeed { fields, visitor })
    }
}

/// The seed of a struct variant's fields (see [`Wrap::struct_variant`]).
struct StructSeed<V> {
    fields: &'static [&'static str],
    visitor: V,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        StructsFromMaps(d).deserialize_struct("", self.fields, self.visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::{json, Value};

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Check {
        path: Option<String>,
        #[serde(default)]
        expected_status: u16,
        #[serde(default)]
        tags: Vec<String>,
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    enum Kind {
        Plain,
        Weighted(u32),
        Split { left: u32, right: u32 },
    }

    /// `v` read through its value and through its JSON text: the same result both ways.
    fn read(v: Value) -> Result<Check, String> {
        let from_value = Check::deserialize(StructsFromMaps(&v)).map_err(|e| e.to_string());
        let text = v.to_string();
        let mut de = serde_json::Deserializer::from_str(&text);
        let from_text = Check::deserialize(StructsFromMaps(&mut de)).map_err(|e| e.to_string());
        assert_eq!(from_value.as_ref().map_err(|_| ()), from_text.as_ref().map_err(|_| ()), "{text}");
        from_value
    }

    #[test]
    fn reads_what_serde_json_reads_but_a_struct_from_a_sequence() {
        let given = json!({"path": "/web/login", "expectedStatus": 200, "tags": ["a", "b"], "kind": {"weighted": 5}});
        assert_eq!(read(given.clone()), Check::deserialize(&given).map_err(|e| e.to_string()));
        assert_eq!(read(json!({"path": null, "kind": "plain"})).map(|c| c.kind), Ok(Some(Kind::Plain)));
        // serde_json takes a sequence for a struct, field by field; a spec file does not.
        let sequence = json!(["/web/login", 200, [], null]);
        assert_eq!(Check::deserialize(&sequence).map(|c| c.expected_status).ok(), Some(200));
        assert_eq!(read(sequence), Err("invalid type: sequence, expected struct Check".into()));
        // serde_json's own messages for everything else.
        assert_eq!(read(json!({"path": 3})), Err("invalid type: integer `3`, expected a string".into()));
        assert_eq!(read(json!({"expectedStatus": 70000})), Err("invalid value: integer `70000`, expected u16".into()));
        assert_eq!(read(json!({"expectedStatus": -1})), Err("invalid value: integer `-1`, expected u16".into()));
        assert_eq!(read(json!({"tags": "a"})), Err("invalid type: string \"a\", expected a sequence".into()));
        assert_eq!(read(json!({"tag": []})).map_err(|e| e.starts_with("unknown field `tag`")), Err(true));
        assert!(read(json!({"kind": {"weighted": 1, "plain": null}})).is_err());
        assert!(read(json!({"kind": {"plain": 1}})).is_err());
        assert_eq!(read(json!({"kind": {"weighted": [5]}})).map(|c| c.kind), Err("invalid type: sequence, expected u32".into()));
        // A struct variant's fields too.
        assert_eq!(read(json!({"kind": {"split": {"left": 1, "right": 2}}})).map(|c| c.kind), Ok(Some(Kind::Split { left: 1, right: 2 })));
        assert!(serde_json::from_str::<Kind>(r#"{"split": [1, 2]}"#).is_ok(), "serde_json's text reader takes a list here");
        assert!(read(json!({"kind": {"split": [1, 2]}})).is_err());
    }
}
