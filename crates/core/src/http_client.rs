//! HTTP clients (S3 repositories, and `ops`' monitoring pings) that work on
//! a host without the system's CA certificates when the URL is plain HTTP.

/// Builds `builder` into a client for `url`. reqwest's rustls loads the
/// system's CA roots (the platform verifier) even for `http://`, and
/// fails on a host without them (no `ca-certificates`): an `http://` URL
/// (Garage or MinIO on the local network, a monitor beside it) gets a
/// client with no roots at all. The error names every cause and, for
/// anything but plain HTTP, says which package gives the roots.
pub fn build_http_client(
    builder: reqwest::ClientBuilder,
    url: &str,
) -> Result<reqwest::Client, String> {
    let plain = url.starts_with("http://");
    let builder = if plain {
        builder.tls_certs_only([])
    } else {
        builder
    };
    builder.build().map_err(|e| {
        let mut why = format!("cannot make an HTTP client: {e}");
        let mut cause = std::error::Error::source(&e);
        while let Some(c) = cause {
            why.push_str(&format!(": {c}"));
            cause = c.source();
        }
        if !plain {
            why.push_str(
                " (are the system's CA certificates, Debian's ca-certificates, installed?)",
            );
        }
        why
    })
}
