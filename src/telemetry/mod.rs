//! Structured logs with tracing: pretty in a terminal, JSON on request; and, with the `otlp`
//! cargo feature, the request spans exported to an OpenTelemetry collector.

use std::io::IsTerminal;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

#[cfg(feature = "otlp")]
mod otlp;

/// No access log line per request by default (README: "RUST_LOG"); 5xx answers are still
/// logged, at error level, by the trace layer.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// Installs the global subscriber (logs go to stderr, so command output on stdout stays
/// clean). `RUST_LOG` overrides the default filter. Safe to call twice.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let terminal = std::io::stderr().is_terminal();
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.pretty().boxed(),
        LogFormat::Auto if terminal => fmt.pretty().boxed(),
        LogFormat::Auto | LogFormat::Plain => fmt.with_ansi(false).boxed(),
    };
    let subscriber = tracing_subscriber::registry().with(logs.with_filter(filter));
    #[cfg(feature = "otlp")]
    let subscriber = subscriber.with(otlp::layer());
    // Already installed (tests start several servers in one process): keep the first.
    let _ = subscriber.try_init();
}

/// Sends what is still buffered (spans, with the `otlp` feature) before the process ends.
pub fn shutdown() {
    #[cfg(feature = "otlp")]
    otlp::shutdown();
}
