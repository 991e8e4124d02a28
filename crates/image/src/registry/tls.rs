//! TLS for one registry, as Docker sets it up from `certs.d/<host[:port]>/`: every `*.crt`
//! is a CA trusted on top of the system's, a `<name>.cert` with its `<name>.key` is the
//! client certificate. Insecure registries skip verification (their signatures are still
//! checked, so a connection is at least to the holder of the key it shows).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use super::error::{RegistryError, Result};

fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider()))
        .clone()
}

/// The host's trusted CAs, read once.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let res = rustls_native_certs::load_native_certs();
        for e in &res.errors {
            tracing::warn!(error = %e, "loading the system's CA certificates");
        }
        res.certs
    })
}

fn tls_err(host: &str) -> impl Fn(String) -> RegistryError + '_ {
    move |message| RegistryError::Tls {
        host: host.to_string(),
        message,
    }
}

/// The client config for `host`, reading `<dir>/<host>/` of each certs dir that has one
/// (dockerd reads `/etc/docker/certs.d` alone; berthd its own and Docker's).
pub(crate) fn client_config(
    certs_dirs: &[PathBuf],
    host: &str,
    skip_verify: bool,
) -> Result<ClientConfig> {
    let err = tls_err(host);
    let mut files = Vec::new();
    for d in certs_dirs {
        files.extend(read_dir_sorted(&d.join(host)).map_err(&err)?);
    }
    let mut roots = RootCertStore::empty();
    let (_, ignored) = roots.add_parsable_certificates(system_roots().iter().cloned());
    if ignored > 0 {
        tracing::debug!(ignored, "system CA certificates rustls cannot use");
    }
    let mut client_cert = None;
    for f in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name.ends_with(".crt") {
            for c in CertificateDer::pem_file_iter(f)
                .map_err(|e| err(format!("{}: {e}", f.display())))?
            {
                let c = c.map_err(|e| err(format!("{}: {e}", f.display())))?;
                roots
                    .add(c)
                    .map_err(|e| err(format!("{}: {e}", f.display())))?;
            }
        } else if let Some(stem) = name.strip_suffix(".cert") {
            let key = f.with_file_name(format!("{stem}.key"));
            if !key.is_file() {
                return Err(err(format!(
                    "missing key {} for client certificate {}. CA certificates must use the extension .crt",
                    key.display(),
                    f.display()
                )));
            }
            let chain = CertificateDer::pem_file_iter(f)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| err(format!("{}: {e}", f.display())))?;
            let key_der = PrivateKeyDer::from_pem_file(&key)
                .map_err(|e| err(format!("{}: {e}", key.display())))?;
            client_cert = Some((chain, key_der));
        } else if let Some(stem) = name.strip_suffix(".key") {
            if !f.with_file_name(format!("{stem}.cert")).is_file() {
                return Err(err(format!(
                    "missing client certificate {stem}.cert for key {}",
                    f.display()
                )));
            }
        }
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| err(e.to_string()))?;
    let builder = if skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
    } else {
        builder.with_root_certificates(roots)
    };
    let mut config = match client_cert {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| err(e.to_string()))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", dir.display())),
    };
    let mut out = Vec::new();
    for e in entries {
        out.push(e.map_err(|e| format!("{}: {e}", dir.display()))?.path());
    }
    out.sort();
    Ok(out)
}

/// Accepts any certificate: for insecure registries only.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_dir_is_system_roots_only() {
        let t = tempfile::tempdir().unwrap();
        client_config(&[t.path().to_path_buf()], "localhost:5000", false).unwrap();
    }

    #[test]
    fn client_cert_needs_its_key() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("reg:5000");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("client.cert"), "x").unwrap();
        let e = client_config(&[t.path().to_path_buf()], "reg:5000", false).unwrap_err();
        assert!(e.to_string().contains("missing key"), "{e}");
    }

    #[test]
    fn bad_ca_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("reg:5000");
        fs::create_dir(&d).unwrap();
        fs::write(
            d.join("ca.crt"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(client_config(&[t.path().to_path_buf()], "reg:5000", false).is_err());
    }
}
