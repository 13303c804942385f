//! JSON request bodies that are objects. Serde's derived `Deserialize` reads a struct from a
//! JSON array too (`[null, null]` as the first two fields), so a body of the wrong shape would
//! pass as an empty change. Every body of this API is an object; anything else is 422
//! `validation_failed`, like any body of the wrong shape. Limits, content type and error
//! answers are `web::Json`'s, configured once in the app.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};

/// A JSON object body read into `T`; use as `web::Json` is used.
pub(crate) struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    /// The body.
    pub(crate) fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for JsonBody<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = web::Json::<Object<T>>::from_request(request, payload);
        Box::pin(async move { read.await.map(|json| Self(json.into_inner().0)) })
    }
}

/// `T`, read only from a JSON object.
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Change {
        url: Option<String>,
        enabled: Option<bool>,
    }

    #[test]
    fn only_objects_are_read() {
        let read = |json: &str| serde_json::from_str::<Object<Change>>(json).map(|o| o.0);
        assert_eq!(
            read(r#"{"url": "https://a.example", "enabled": null}"#).ok(),
            Some(Change {
                url: Some("https://a.example".to_owned()),
                enabled: None
            })
        );
        for not_an_object in ["[null, null]", "[]", "null", "7", r#""x""#] {
            let error = read(not_an_object).err().map(|error| error.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|error| error.contains("expected a JSON object")),
                "{not_an_object}: {error:?}"
            );
        }
        // The fields' own rules still hold.
        assert!(read(r#"{"url": 7}"#).is_err());
        assert!(read(r#"{"colour": "red"}"#).is_err());
    }
}
