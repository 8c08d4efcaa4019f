//! A buffered self-describing value, so a spec's `properties` may arrive before its `type`; errors keep their path.

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Any value a spec may hold, buffered until the policy type that reads it is known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Unit,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Str(String),
    Seq(Vec<Raw>),
    Map(Vec<(Raw, Raw)>),
}

impl Raw {
    /// A short rendering of a scalar for error messages (empty for maps and lists).
    fn scalar(&self) -> Option<String> {
        match self {
            Raw::Unit => Some("null".into()),
            Raw::Bool(b) => Some(b.to_string()),
            Raw::I64(n) => Some(n.to_string()),
            Raw::U64(n) => Some(n.to_string()),
            Raw::F64(n) => Some(n.to_string()),
            Raw::Str(s) => Some(s.clone()),
            Raw::Seq(_) | Raw::Map(_) => None,
        }
    }

    /// How a map key appears in a path.
    fn key_label(&self) -> String {
        self.scalar().unwrap_or_else(|| "?".into())
    }
}

impl<'de> de::Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::I64(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
        Ok(Raw::U64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::F64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw::Unit)
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw::Unit)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Raw::Map(entries))
    }
}

/// An error met while reading a [`Raw`]: the path below the buffered value, the offending scalar, the reason.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RawError {
    /// Segments from the innermost outwards: `.key` or `[index]`.
    segments: Vec<String>,
    pub(crate) value: String,
    pub(crate) reason: String,
}

impl RawError {
    fn under(mut self, segment: String) -> Self {
        self.segments.push(segment);
        self
    }

    /// The path below the buffered value, e.g. `.adjustment.number` or `.zones[0].weight` (empty at its root).
    pub(crate) fn path(&self) -> String {
        self.segments.iter().rev().map(String::as_str).collect()
    }
}

impl fmt::Display for RawError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path(), self.reason)
    }
}

impl std::error::Error for RawError {}

impl de::Error for RawError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        RawError { segments: Vec::new(), value: String::new(), reason: msg.to_string() }
    }
}

/// Reads a [`Raw`] as any `Deserialize` type.
pub(crate) struct RawDeserializer(pub(crate) Raw);

/// Notes the offending scalar on an error raised right at this value.
fn blame(scalar: Option<String>, error: RawError) -> RawError {
    match scalar {
        Some(value) if error.segments.is_empty() && error.value.is_empty() => RawError { value, ..error },
        _ => error,
    }
}

impl<'de> Deserializer<'de> for RawDeserializer {
    type Error = RawError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RawError> {
        let scalar = self.0.scalar();
        let result = match self.0 {
            Raw::Unit => visitor.visit_unit(),
            Raw::Bool(v) => visitor.visit_bool(v),
            Raw::I64(v) => visitor.visit_i64(v),
            Raw::U64(v) => visitor.visit_u64(v),
            Raw::F64(v) => visitor.visit_f64(v),
            Raw::Str(v) => visitor.visit_string(v),
            Raw::Seq(items) => visitor.visit_seq(RawSeq { items: items.into_iter(), index: 0 }),
            Raw::Map(entries) => visitor.visit_map(RawMap { entries: entries.into_iter(), pending: None }),
        };
        result.map_err(|e| blame(scalar, e))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, RawError> {
        match self.0 {
            Raw::Unit => visitor.visit_none(),
            other => visitor.visit_some(RawDeserializer(other)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, RawError> {
        match self.0 {
            Raw::Str(s) => visitor.visit_enum(s.clone().into_deserializer()).map_err(|e: RawError| blame(Some(s), e)),
            // Not a plain string: the visitor refuses it with its own message.
            other => RawDeserializer(other).deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, RawError> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

struct RawSeq {
    items: std::vec::IntoIter<Raw>,
    index: usize,
}

impl<'de> SeqAccess<'de> for RawSeq {
    type Error = RawError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, RawError> {
        let Some(item) = self.items.next() else { return Ok(None) };
        let index = self.index;
        self.index += 1;
        seed.deserialize(RawDeserializer(item)).map(Some).map_err(|e| e.under(format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct RawMap {
    entries: std::vec::IntoIter<(Raw, Raw)>,
    pending: Option<(String, Raw)>,
}

impl<'de> MapAccess<'de> for RawMap {
    type Error = RawError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, RawError> {
        let Some((key, value)) = self.entries.next() else { return Ok(None) };
        let label = key.key_label();
        let key = seed.deserialize(RawDeserializer(key)).map_err(|e| e.under(format!(".{label}")))?;
        self.pending = Some((label, value));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, RawError> {
        let (label, value) = self.pending.take().ok_or_else(|| <RawError as de::Error>::custom("value asked before its key"))?;
        seed.deserialize(RawDeserializer(value)).map_err(|e| e.under(format!(".{label}")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}
