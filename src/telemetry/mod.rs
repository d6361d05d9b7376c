//! Structured logs with tracing: pretty in a terminal, JSON on request.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// No access log line per request by default (README: "RUST_LOG"); 5xx answers are still
/// logged, at error level, by the trace layer.
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

/// Installs the global subscriber (logs go to stderr, so command output on stdout stays
/// clean). `RUST_LOG` overrides the default filter. Safe to call twice.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let terminal = std::io::stderr().is_terminal();
    let result = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.pretty().try_init(),
        LogFormat::Auto if terminal => builder.pretty().try_init(),
        LogFormat::Auto | LogFormat::Plain => builder.with_ansi(false).try_init(),
    };
    // Already installed (tests start several servers in one process): keep the first.
    let _ = result;
}
