//! A fast block-style YAML writer: a `serde::Serializer` that lays values out the way `serde_yaml` does.

use std::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

mod scalar;

use scalar::{choose_style, fmt_float, fmt_u64, push_spaces, write_double, write_literal, write_single, Style};

/// How deep collections may nest before the writer gives up (a guard against runaway recursion).
const MAX_DEPTH: usize = 1024;

/// Keys longer than this (in bytes) are written as explicit `? key` entries: YAML parsers reject longer implicit keys.
const MAX_IMPLICIT_KEY: usize = 512;

/// Errors of the YAML writer.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    /// A `Serialize` implementation reported an error.
    #[error("{0}")]
    Custom(String),
    /// A map key was not a scalar (string, number, bool, unit variant).
    #[error("map keys must be scalars, found {0}")]
    KeyNotScalar(&'static str),
    /// Collections nest deeper than the writer allows.
    #[error("value nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl ser::Error for YamlError {
    fn custom<T: Display>(msg: T) -> Self {
        YamlError::Custom(msg.to_string())
    }
}

/// Writes `value` as one block-style YAML document (without a `---` separator), ending with a newline.
///
/// The output reads back with `serde_yaml` into the same value. Strings that would read as another type
/// (`'true'`, `'8080'`, `''`) are single-quoted, strings with control characters double-quoted with escapes,
/// multi-line strings written as literal blocks (`|`) when that round-trips exactly.
pub fn to_yaml_string<T: Serialize + ?Sized>(value: &T) -> Result<String, YamlError> {
    let mut out = String::with_capacity(1024);
    append_yaml(&mut out, value)?;
    Ok(out)
}

/// Like [`to_yaml_string`], appending to `out` (which should be empty or end with a newline).
pub(crate) fn append_yaml<T: Serialize + ?Sized>(out: &mut String, value: &T) -> Result<(), YamlError> {
    let mut w = Writer { out: std::mem::take(out), pos: Pos::Top, depth: 0 };
    let result = value.serialize(&mut w);
    *out = w.out;
    result
}

/// Where the next value goes.
#[derive(Clone, Copy)]
enum Pos {
    /// The document's root, at column 0.
    Top,
    /// After `key:` of a map whose entries sit at `indent`; a sequence value starts its items at `seq_indent`.
    Key { indent: usize, seq_indent: usize },
    /// After `- ` of a sequence whose items sit at `indent`.
    Dash { indent: usize },
}

struct Writer {
    out: String,
    pos: Pos,
    depth: usize,
}

impl Writer {
    fn scalar(&mut self, s: &str) -> Result<(), YamlError> {
        if let Pos::Key { .. } = self.pos {
            self.out.push(' ');
        }
        self.out.push_str(s);
        self.out.push('\n');
        Ok(())
    }

    fn string(&mut self, s: &str) -> Result<(), YamlError> {
        let style = choose_style(s, false);
        if style == Style::Plain {
            return self.scalar(s);
        }
        let indent = match self.pos {
            Pos::Top => 0,
            Pos::Key { indent, .. } | Pos::Dash { indent } => {
                if let Pos::Key { .. } = self.pos {
                    self.out.push(' ');
                }
                indent
            }
        };
        match style {
            Style::Single => write_single(&mut self.out, s),
            Style::Double => write_double(&mut self.out, s),
            Style::Literal | Style::Plain => {
                write_literal(&mut self.out, s, indent + 2);
                return Ok(());
            }
        }
        self.out.push('\n');
        Ok(())
    }

    /// Writes a map key at the cursor followed by `:`; returns whether it is an explicit (`? key`) key.
    fn key(&mut self, key: &str, indent: usize) -> bool {
        if key.len() > MAX_IMPLICIT_KEY {
            self.out.push_str("? ");
            write_double(&mut self.out, key);
            self.out.push('\n');
            push_spaces(&mut self.out, indent);
            self.out.push(':');
            return true;
        }
        match choose_style(key, true) {
            Style::Plain => self.out.push_str(key),
            Style::Single => write_single(&mut self.out, key),
            _ => write_double(&mut self.out, key),
        }
        self.out.push(':');
        false
    }

    fn value_pos(indent: usize, explicit: bool) -> Pos {
        Pos::Key { indent, seq_indent: if explicit { indent + 2 } else { indent } }
    }

    /// Opens a map or sequence at the current position.
    fn open(&mut self, map: bool) -> Result<Compound<'_>, YamlError> {
        if self.depth >= MAX_DEPTH {
            return Err(YamlError::TooDeep);
        }
        self.depth += 1;
        let indent = match (self.pos, map) {
            (Pos::Top, _) => 0,
            (Pos::Key { indent, .. }, true) => indent + 2,
            (Pos::Key { seq_indent, .. }, false) => seq_indent,
            (Pos::Dash { indent }, _) => indent + 2,
        };
        let pos = self.pos;
        Ok(Compound { w: self, pos, indent, first: true, map, explicit: false })
    }

    /// Writes the `Variant:` of a single-key map standing for an enum variant; returns where its value goes.
    fn open_variant(&mut self, variant: &str) -> Result<Pos, YamlError> {
        if self.depth >= MAX_DEPTH {
            return Err(YamlError::TooDeep);
        }
        let indent = match self.pos {
            Pos::Top => 0,
            Pos::Key { indent, .. } => {
                self.out.push('\n');
                push_spaces(&mut self.out, indent + 2);
                indent + 2
            }
            Pos::Dash { indent } => indent + 2,
        };
        let explicit = self.key(variant, indent);
        Ok(Self::value_pos(indent, explicit))
    }
}

/// An open map or sequence.
struct Compound<'a> {
    w: &'a mut Writer,
    pos: Pos,
    indent: usize,
    first: bool,
    map: bool,
    explicit: bool,
}

impl Compound<'_> {
    fn entry(&mut self) {
        if self.first {
            self.first = false;
            if let Pos::Key { .. } = self.pos {
                self.w.out.push('\n');
                push_spaces(&mut self.w.out, self.indent);
            }
        } else {
            push_spaces(&mut self.w.out, self.indent);
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), YamlError> {
        self.entry();
        self.w.out.push_str("- ");
        self.w.pos = Pos::Dash { indent: self.indent };
        value.serialize(&mut *self.w)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), YamlError> {
        self.entry();
        let explicit = self.w.key(key, self.indent);
        self.w.pos = Writer::value_pos(self.indent, explicit);
        value.serialize(&mut *self.w)
    }

    fn finish(self) -> Result<(), YamlError> {
        if self.first {
            let empty = match (self.pos, self.map) {
                (Pos::Key { .. }, true) => " {}\n",
                (Pos::Key { .. }, false) => " []\n",
                (_, true) => "{}\n",
                (_, false) => "[]\n",
            };
            self.w.out.push_str(empty);
        }
        self.w.depth -= 1;
        Ok(())
    }
}

macro_rules! seq_impl {
    ($($trait:ident $method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = YamlError;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), YamlError> {
                self.element(value)
            }
            fn end(self) -> Result<(), YamlError> {
                self.finish()
            }
        }
    )*};
}
seq_impl!(SerializeSeq serialize_element, SerializeTuple serialize_element, SerializeTupleStruct serialize_field, SerializeTupleVariant serialize_field);

macro_rules! struct_impl {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = YamlError;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), YamlError> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), YamlError> {
                self.finish()
            }
        }
    )*};
}
struct_impl!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = YamlError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), YamlError> {
        self.entry();
        self.explicit = key.serialize(KeyWriter { w: &mut *self.w, indent: self.indent })?;
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), YamlError> {
        self.w.pos = Writer::value_pos(self.indent, self.explicit);
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), YamlError> {
        self.finish()
    }
}

macro_rules! widen {
    ($($method:ident $ty:ty => $wide:ident),*) => {$(
        fn $method(self, v: $ty) -> Result<(), YamlError> {
            self.$wide(v.into())
        }
    )*};
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = YamlError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), YamlError> {
        self.scalar(if v { "true" } else { "false" })
    }
    widen!(serialize_i8 i8 => serialize_i64, serialize_i16 i16 => serialize_i64, serialize_i32 i32 => serialize_i64);
    fn serialize_i64(self, v: i64) -> Result<(), YamlError> {
        if v >= 0 {
            return self.serialize_u64(v.unsigned_abs());
        }
        let mut buf = [0u8; 20];
        let digits = fmt_u64(&mut buf, v.unsigned_abs());
        if let Pos::Key { .. } = self.pos {
            self.out.push(' ');
        }
        self.out.push('-');
        self.out.push_str(digits);
        self.out.push('\n');
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), YamlError> {
        self.scalar(&v.to_string())
    }
    widen!(serialize_u8 u8 => serialize_u64, serialize_u16 u16 => serialize_u64, serialize_u32 u32 => serialize_u64);
    fn serialize_u64(self, v: u64) -> Result<(), YamlError> {
        let mut buf = [0u8; 20];
        let digits = fmt_u64(&mut buf, v);
        self.scalar(digits)
    }
    fn serialize_u128(self, v: u128) -> Result<(), YamlError> {
        self.scalar(&v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<(), YamlError> {
        self.scalar(&fmt_float(v.into(), &v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), YamlError> {
        self.scalar(&fmt_float(v, &v))
    }
    fn serialize_char(self, v: char) -> Result<(), YamlError> {
        self.string(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), YamlError> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), YamlError> {
        let mut seq = self.open(false)?;
        for b in v {
            seq.element(b)?;
        }
        seq.finish()
    }
    fn serialize_none(self) -> Result<(), YamlError> {
        self.scalar("null")
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), YamlError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), YamlError> {
        self.scalar("null")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), YamlError> {
        self.scalar("null")
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), YamlError> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), YamlError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, variant: &'static str, value: &T) -> Result<(), YamlError> {
        self.pos = self.open_variant(variant)?;
        self.depth += 1;
        value.serialize(&mut *self)?;
        self.depth -= 1;
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, YamlError> {
        self.open(false)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, YamlError> {
        self.open(false)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, YamlError> {
        self.open(false)
    }
    fn serialize_tuple_variant(self, _name: &'static str, _index: u32, variant: &'static str, _len: usize) -> Result<Compound<'a>, YamlError> {
        self.pos = self.open_variant(variant)?;
        self.open(false)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, YamlError> {
        self.open(true)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, YamlError> {
        self.open(true)
    }
    fn serialize_struct_variant(self, _name: &'static str, _index: u32, variant: &'static str, _len: usize) -> Result<Compound<'a>, YamlError> {
        self.pos = self.open_variant(variant)?;
        self.open(true)
    }
}

/// Writes a map key (and its `:`); `Ok` tells whether the key is explicit.
struct KeyWriter<'a> {
    w: &'a mut Writer,
    indent: usize,
}

impl KeyWriter<'_> {
    /// A key that is not a string: written as is, so it reads back as the same scalar.
    fn raw(self, s: &str) -> Result<bool, YamlError> {
        self.w.out.push_str(s);
        self.w.out.push(':');
        Ok(false)
    }
}

macro_rules! key_to_string {
    ($($method:ident $ty:ty),*) => {$(
        fn $method(self, v: $ty) -> Result<bool, YamlError> {
            self.raw(&v.to_string())
        }
    )*};
}

macro_rules! key_not_scalar {
    ($($method:ident($($arg:ty),*) -> $ret:ty, $what:literal;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, YamlError> {
            Err(YamlError::KeyNotScalar($what))
        }
    )*};
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = bool;
    type Error = YamlError;
    type SerializeSeq = Impossible<bool, YamlError>;
    type SerializeTuple = Impossible<bool, YamlError>;
    type SerializeTupleStruct = Impossible<bool, YamlError>;
    type SerializeTupleVariant = Impossible<bool, YamlError>;
    type SerializeMap = Impossible<bool, YamlError>;
    type SerializeStruct = Impossible<bool, YamlError>;
    type SerializeStructVariant = Impossible<bool, YamlError>;

    fn serialize_bool(self, v: bool) -> Result<bool, YamlError> {
        self.raw(if v { "true" } else { "false" })
    }
    key_to_string!(serialize_i8 i8, serialize_i16 i16, serialize_i32 i32, serialize_i64 i64, serialize_i128 i128, serialize_u8 u8, serialize_u16 u16, serialize_u32 u32, serialize_u64 u64, serialize_u128 u128);
    fn serialize_f32(self, v: f32) -> Result<bool, YamlError> {
        self.raw(&fmt_float(v.into(), &v))
    }
    fn serialize_f64(self, v: f64) -> Result<bool, YamlError> {
        self.raw(&fmt_float(v, &v))
    }
    fn serialize_char(self, v: char) -> Result<bool, YamlError> {
        self.serialize_str(v.encode_utf8(&mut [0u8; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<bool, YamlError> {
        Ok(self.w.key(v, self.indent))
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<bool, YamlError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<bool, YamlError> {
        value.serialize(self)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<bool, YamlError> {
        value.serialize(self)
    }
    fn serialize_none(self) -> Result<bool, YamlError> {
        self.raw("null")
    }
    fn serialize_unit(self) -> Result<bool, YamlError> {
        self.raw("null")
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(self, _name: &'static str, _index: u32, _variant: &'static str, _value: &T) -> Result<bool, YamlError> {
        Err(YamlError::KeyNotScalar("an enum variant with data"))
    }
    key_not_scalar! {
        serialize_bytes(&[u8]) -> bool, "bytes";
        serialize_unit_struct(&'static str) -> bool, "a unit struct";
        serialize_seq(Option<usize>) -> Impossible<bool, YamlError>, "a sequence";
        serialize_tuple(usize) -> Impossible<bool, YamlError>, "a tuple";
        serialize_tuple_struct(&'static str, usize) -> Impossible<bool, YamlError>, "a tuple struct";
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Impossible<bool, YamlError>, "an enum variant with data";
        serialize_map(Option<usize>) -> Impossible<bool, YamlError>, "a map";
        serialize_struct(&'static str, usize) -> Impossible<bool, YamlError>, "a struct";
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Impossible<bool, YamlError>, "an enum variant with data";
    }
}
