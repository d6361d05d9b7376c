//! Health, readiness, request ids, security headers and the 404 fallback.

use crate::common::{TestDb, spawn_app};
use crate::on_both_backends;

on_both_backends!(
    health_and_readiness,
    request_id_and_security_headers_on_every_response
);

async fn health_and_readiness(db: TestDb) {
    let app = spawn_app(&db).await;
    assert_eq!(app.get_json("/healthz").await["status"], "ok");
    assert_eq!(app.get_json("/readyz").await["status"], "ready");
    app.stop().await;
}

async fn request_id_and_security_headers_on_every_response(db: TestDb) {
    let app = spawn_app(&db).await;
    let send = |path: &'static str, id: Option<&'static str>| {
        let mut request = app.http.get(app.url(path));
        if let Some(id) = id {
            request = request.header("x-request-id", id);
        }
        request.send()
    };
    let header = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };

    let Ok(kept) = send("/healthz", Some("req-42.a:b")).await else {
        panic!("request")
    };
    assert_eq!(
        header(&kept, "x-request-id").as_deref(),
        Some("req-42.a:b"),
        "valid id kept"
    );

    let Ok(replaced) = send("/healthz", Some("<script>")).await else {
        panic!("request")
    };
    let new_id = header(&replaced, "x-request-id").unwrap_or_default();
    assert!(
        new_id.len() == 36 && new_id != "<script>",
        "invalid id replaced: {new_id}"
    );

    let Ok(missing) = send("/no/such/route", None).await else {
        panic!("request")
    };
    assert_eq!(missing.status(), 404);
    assert!(header(&missing, "x-request-id").is_some());
    assert_eq!(
        header(&missing, "x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert!(header(&missing, "referrer-policy").is_some());
    assert_eq!(header(&missing, "x-frame-options").as_deref(), Some("DENY"));
    for response in [&kept, &missing] {
        let timing = header(response, "server-timing").unwrap_or_default();
        let duration = timing
            .strip_prefix("app;dur=")
            .and_then(|ms| ms.parse::<f64>().ok());
        assert!(
            duration.is_some_and(|ms| (0.0..8000.0).contains(&ms)),
            "server-timing: {timing:?}"
        );
    }
    assert!(
        header(&missing, "content-security-policy")
            .unwrap_or_default()
            .contains("frame-ancestors 'none'")
    );
    assert!(
        header(&missing, "content-type")
            .unwrap_or_default()
            .starts_with("application/json")
    );
    let body: serde_json::Value = missing.json().await.unwrap_or_default();
    assert_eq!(body["error"], "not_found");

    let Ok(wrong_method) = app.http.delete(app.url("/jwks.json")).send().await else {
        panic!("request")
    };
    assert_eq!(wrong_method.status(), 405);
    app.stop().await;
}
