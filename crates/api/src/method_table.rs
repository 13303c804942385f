//! Which methods each path answers, so that a known path called with another method gets
//! 405 with an `Allow` header (RFC 9110 §15.5.6) instead of 404.
//!
//! actix-web falls through to the default service when no method guard matches, which cannot
//! tell "no such path" from "no such method". The table is read from the OpenAPI document,
//! which is generated from the handlers themselves, so it cannot drift from the routes.

use actix_web::dev::ResourceDef;

/// Paths and the methods they answer.
pub struct MethodTable {
    routes: Vec<(ResourceDef, Vec<&'static str>)>,
}

/// Served outside the document (the document itself and the docs UI).
const UNDOCUMENTED: [&str; 2] = ["/openapi.json", "/asyncapi.json"];

impl MethodTable {
    /// Builds the table from the API description.
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let mut routes: Vec<(ResourceDef, Vec<&'static str>)> = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        routes.extend(
            UNDOCUMENTED
                .iter()
                .map(|path| (ResourceDef::new(*path), vec!["GET"])),
        );
        Self { routes }
    }

    /// The methods `path` answers, or `None` when no route has that path.
    pub fn allowed(&self, path: &str) -> Option<Vec<&'static str>> {
        let mut allowed: Vec<&'static str> = self
            .routes
            .iter()
            .filter(|(resource, _)| resource.is_match(path))
            .flat_map(|(_, methods)| methods.iter().copied())
            .collect();
        if allowed.is_empty() {
            return None;
        }
        // HEAD comes with GET in actix-web.
        if allowed.contains(&"GET") {
            allowed.push("HEAD");
        }
        allowed.dedup();
        Some(allowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_paths_list_their_methods() {
        let table = MethodTable::from_spec(&crate::openapi());
        let methods = |path: &str| table.allowed(path).map(|all| all.join(", "));
        assert_eq!(
            methods("/chat/42/messages").as_deref(),
            Some("GET, POST, HEAD")
        );
        assert_eq!(methods("/orders/1042").as_deref(), Some("PUT"));
        assert_eq!(methods("/openapi.json").as_deref(), Some("GET, HEAD"));
        assert_eq!(methods("/nowhere"), None);
    }
}
