//! `munjigi healthcheck`: asks the running server on this machine whether it is ready, for
//! container health checks (the image carries no curl). Exit 0 when it answers 200.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use super::CliError;

/// Where to reach a server bound to `bind`: a wildcard bind is reached on loopback.
pub fn probe_address(bind: SocketAddr) -> SocketAddr {
    let ip = match bind.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, bind.port())
}

/// GET `/readyz` (or `/healthz` when `live_only`) on the configured bind address.
pub async fn run(bind: SocketAddr, live_only: bool) -> Result<(), CliError> {
    let path = if live_only { "/healthz" } else { "/readyz" };
    let url = format!("http://{}{path}", probe_address(bind));
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| CliError::Usage(format!("healthcheck: {e}")))?;
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => {
            println!("{url}: {}", response.status());
            Ok(())
        }
        Ok(response) => Err(CliError::Usage(format!(
            "{url} answered {}",
            response.status()
        ))),
        Err(e) => Err(CliError::Usage(format!("{url}: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::probe_address;

    #[test]
    fn wildcard_binds_are_probed_on_loopback() {
        let probe = |bind: &str| bind.parse().map(probe_address).map(|a| a.to_string());
        assert_eq!(probe("0.0.0.0:8080"), Ok("127.0.0.1:8080".to_owned()));
        assert_eq!(probe("[::]:9000"), Ok("[::1]:9000".to_owned()));
        assert_eq!(probe("10.1.2.3:80"), Ok("10.1.2.3:80".to_owned()));
    }
}
