//! Go's encoding/json rules, for serde: `null` reads as the zero value, and `omitempty` leaves
//! out zero values when writing.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` (or a missing field, with `#[serde(default)]`) as `T::default()`.
pub fn zero<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Docker's `strslice.StrSlice` (`Cmd`, `Entrypoint`, `Shell`): a list, or one string read as a
/// list of one; `null` stays `None`.
pub fn str_slice<'de, D>(de: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(de)? {
        None => None,
        Some(OneOrMany::One(s)) => Some(vec![s]),
        Some(OneOrMany::Many(v)) => Some(v),
    })
}

/// What `omitempty` leaves out: false, 0, "", and nil or empty lists and maps.
pub trait Empty {
    fn is_empty_value(&self) -> bool;
}

macro_rules! empty_when_default {
    ($($t:ty),*) => { $(
        impl Empty for $t {
            fn is_empty_value(&self) -> bool {
                *self == <$t>::default()
            }
        }
    )* };
}

empty_when_default!(bool, i32, i64, u16, u32, u64, String);

impl<T> Empty for Vec<T> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}

impl<K, V> Empty for std::collections::BTreeMap<K, V> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}

impl Empty for serde_json::Map<String, serde_json::Value> {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}

/// A Go pointer or slice: nil is empty; for a slice or map, so is an empty one.
impl<T: Empty> Empty for Option<T> {
    fn is_empty_value(&self) -> bool {
        self.as_ref().is_none_or(Empty::is_empty_value)
    }
}

/// `skip_serializing_if` for Go's `omitempty`.
pub fn is_empty<T: Empty>(v: &T) -> bool {
    v.is_empty_value()
}

/// `skip_serializing_if` for a Go pointer with `omitempty`: only nil is left out.
pub fn is_none<T>(v: &Option<T>) -> bool {
    v.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase", default)]
    struct T {
        #[serde(deserialize_with = "zero")]
        n: i64,
        #[serde(deserialize_with = "str_slice")]
        cmd: Option<Vec<String>>,
        #[serde(skip_serializing_if = "is_empty")]
        labels: Option<std::collections::BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "is_empty")]
        s: String,
    }

    #[test]
    fn null_is_zero_and_strings_are_lists() {
        let t: T = serde_json::from_str(r#"{"N": null, "Cmd": "echo hi"}"#).unwrap();
        assert_eq!(t.n, 0);
        assert_eq!(t.cmd, Some(vec!["echo hi".to_string()]));
        let t: T = serde_json::from_str(r#"{"Cmd": null}"#).unwrap();
        assert_eq!(t.cmd, None);
    }

    #[test]
    fn omitempty_leaves_out_zero_values() {
        let mut t = T {
            labels: Some(Default::default()),
            ..T::default()
        };
        assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"N":0,"Cmd":null}"#);
        t.s = "x".into();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"N":0,"Cmd":null,"S":"x"}"#
        );
    }
}
