//! Prometheus metrics, served on their own listener (`metrics_bind`) so that they never share
//! an address with the public endpoints. Counters move where things happen; gauges that
//! describe state (database pool, key age) are read when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's template (`/login/{provider}`), never the raw path: a bounded set.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    grant_type: String,
    client_id: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoginLabels {
    method: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FamilyLabels {
    family: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    kid: String,
    alg: String,
    state: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// How a sign-in attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginOutcome {
    Success,
    Failure,
    Throttled,
}

impl LoginOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Throttled => "throttled",
        }
    }
}

/// A signing key as the key-age gauge shows it.
pub struct KeyAge<'a> {
    pub kid: &'a str,
    pub alg: &'a str,
    pub state: &'a str,
    pub age_secs: i64,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    tokens_issued: Family<TokenLabels, Counter>,
    logins: Family<LoginLabels, Counter>,
    refresh_reuse: Counter,
    rate_limited: Family<FamilyLabels, Counter>,
    audit_dropped: Counter,
    mails: Family<OutcomeLabels, Counter>,
    db_connections: Family<StateLabels, Gauge>,
    key_age: Family<KeyLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 4 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("munjigi");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let tokens_issued = Family::<TokenLabels, Counter>::default();
        let logins = Family::<LoginLabels, Counter>::default();
        let refresh_reuse = Counter::default();
        let rate_limited = Family::<FamilyLabels, Counter>::default();
        let audit_dropped = Counter::default();
        let mails = Family::<OutcomeLabels, Counter>::default();
        let db_connections = Family::<StateLabels, Gauge>::default();
        let key_age = Family::<KeyLabels, Gauge>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request reaching munjigi to its response headers",
            latency.clone(),
        );
        registry.register(
            "tokens_issued",
            "Token responses issued at /token, by grant type and client",
            tokens_issued.clone(),
        );
        registry.register(
            "logins",
            "Sign-in attempts, by method (password or provider) and outcome",
            logins.clone(),
        );
        registry.register(
            "refresh_token_reuse",
            "Rotated refresh tokens presented again (each revoked its family)",
            refresh_reuse.clone(),
        );
        registry.register(
            "rate_limited",
            "Requests refused by a rate limit or throttle, by family",
            rate_limited.clone(),
        );
        registry.register(
            "audit_events_dropped",
            "Audit events not stored because the writer's queue was full",
            audit_dropped.clone(),
        );
        registry.register(
            "mails",
            "Account mails, by outcome (sent, failed, dropped when the queue was full)",
            mails.clone(),
        );
        registry.register(
            "db_connections",
            "Database pool connections, in use or idle",
            db_connections.clone(),
        );
        registry.register(
            "signing_key_age_seconds",
            "Age of each stored signing key",
            key_age.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            tokens_issued,
            logins,
            refresh_reuse,
            rate_limited,
            audit_dropped,
            mails,
            db_connections,
            key_age,
        }
    }
}

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let (method, route) = (method.to_owned(), route.to_owned());
        self.latency
            .get_or_create(&RouteLabels {
                method: method.clone(),
                route: route.clone(),
            })
            .observe(seconds);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    pub fn token_issued(&self, grant_type: &str, client_id: &str) {
        self.tokens_issued
            .get_or_create(&TokenLabels {
                grant_type: grant_type.to_owned(),
                client_id: client_id.to_owned(),
            })
            .inc();
    }

    pub fn login(&self, method: &str, outcome: LoginOutcome) {
        self.logins
            .get_or_create(&LoginLabels {
                method: method.to_owned(),
                outcome: outcome.as_str().to_owned(),
            })
            .inc();
    }

    pub fn refresh_reuse(&self) {
        self.refresh_reuse.inc();
    }

    pub fn rate_limited(&self, family: &str) {
        self.rate_limited
            .get_or_create(&FamilyLabels {
                family: family.to_owned(),
            })
            .inc();
    }

    pub fn audit_dropped(&self) {
        self.audit_dropped.inc();
    }

    pub fn mail(&self, outcome: &str) {
        self.mails
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// The text exposition, with the state gauges read now.
    pub fn render(&self, pool: (u32, u32), keys: &[KeyAge<'_>]) -> String {
        let (in_use, idle) = pool;
        for (state, value) in [("in_use", in_use), ("idle", idle)] {
            self.db_connections
                .get_or_create(&StateLabels {
                    state: state.to_owned(),
                })
                .set(i64::from(value));
        }
        // Keys come and go: the gauge shows exactly the stored ones.
        self.key_age.clear();
        for key in keys {
            self.key_age
                .get_or_create(&KeyLabels {
                    kid: key.kid.to_owned(),
                    alg: key.alg.to_owned(),
                    state: key.state.to_owned(),
                })
                .set(key.age_secs);
        }
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_with_their_labels() {
        let metrics = Metrics::default();
        metrics.request("GET", "/jwks.json", 200, 0.001);
        metrics.token_issued("client_credentials", "billing");
        metrics.login("password", LoginOutcome::Failure);
        metrics.refresh_reuse();
        let text = metrics.render(
            (2, 3),
            &[KeyAge {
                kid: "k1",
                alg: "ES256",
                state: "active",
                age_secs: 60,
            }],
        );
        for line in [
            r#"munjigi_http_requests_total{method="GET",route="/jwks.json",status="200"} 1"#,
            r#"munjigi_tokens_issued_total{grant_type="client_credentials",client_id="billing"} 1"#,
            r#"munjigi_logins_total{method="password",outcome="failure"} 1"#,
            "munjigi_refresh_token_reuse_total 1",
            r#"munjigi_db_connections{state="in_use"} 2"#,
            r#"munjigi_signing_key_age_seconds{kid="k1",alg="ES256",state="active"} 60"#,
        ] {
            assert!(text.contains(line), "{line} not in\n{text}");
        }
        assert!(text.contains("munjigi_http_request_duration_seconds_bucket"));
    }
}
