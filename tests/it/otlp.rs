//! With the `otlp` feature (`cargo test --features otlp --test it otlp`): the server's request
//! spans reach an OTLP/HTTP collector (a loopback stub) named as OTEL_EXPORTER_OTLP_ENDPOINT.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::process::{start_server, wait_ready};
use crate::common::{TestDb, http_client};
use crate::on_both_backends;

on_both_backends!(request_spans_reach_the_collector);

/// A collector that keeps the bodies posted to `/v1/traces`; returns its base URL.
async fn collector(received: Arc<Mutex<Vec<Vec<u8>>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let base = format!(
        "http://127.0.0.1:{}",
        listener.local_addr().map(|a| a.port()).unwrap_or_default()
    );
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| {
            let received = received.clone();
            async move {
                if let Ok(mut all) = received.lock() {
                    all.push(body.to_vec());
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    base
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn request_spans_reach_the_collector(db: TestDb) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let endpoint = collector(received.clone()).await;
    let server = start_server(
        &db,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_SERVICE_NAME", "munjigi-under-test"),
            // Send batches quickly rather than every 5 s.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    wait_ready(&server, Duration::from_secs(20)).await;
    let jwks = http_client()
        .get(format!("{}/jwks.json", server.base))
        .header("x-request-id", "otlp-trace-check")
        .send()
        .await
        .expect("jwks");
    assert_eq!(jwks.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let found = received.lock().map(|all| {
            all.iter().any(|body| {
                contains(body, b"munjigi-under-test")
                    && contains(body, b"otlp-trace-check")
                    && contains(body, b"/jwks.json")
            })
        });
        if found.unwrap_or(false) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no span of the request reached the collector ({} bodies); server log:\n{}",
            received.lock().map(|a| a.len()).unwrap_or(0),
            server.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
