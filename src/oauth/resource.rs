//! Resource indicators (RFC 8707): which resource servers an access token is for (`aud`).

/// RFC 8707 §2: an absolute URI without a fragment (a query is discouraged, not forbidden).
pub fn check_resource(resource: &str) -> Result<(), String> {
    let url = url::Url::parse(resource)
        .map_err(|_| format!("resource {resource:?} is not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(format!("resource {resource:?} must not have a fragment"));
    }
    if url.cannot_be_a_base() && !resource.starts_with("urn:") {
        return Err(format!("resource {resource:?} is not a hierarchical URI"));
    }
    Ok(())
}
