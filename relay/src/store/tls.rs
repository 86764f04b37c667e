//! TLS to Postgres (rustls), by the URL's `sslmode` as libpq reads it:
//! `disable` never encrypts; `prefer` (the default) encrypts when the server
//! offers it and, as libpq does, without checking its certificate (a
//! Debian cluster's snakeoil certificate works); `require` encrypts and
//! checks the certificate and the host name against the web's roots and the
//! PEM file in `ONRAMP_DATABASE_CA`, if set (a managed database's CA), as
//! libpq's `verify-full` does (`verify-full` and `verify-ca` are read as
//! `require`): use it wherever the network between the relay and Postgres
//! is not yours.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::DbResult;

/// The connector for a connection of this `sslmode`; `ca_file`: extra
/// roots (PEM).
pub fn connector(mode: SslMode, ca_file: Option<&str>) -> DbResult<MakeRustlsConnect> {
    // ring, as reqwest's rustls here (aws-lc-rs, which rustls now prefers
    // for its post-quantum key exchange, wants cmake to build).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let config = if matches!(mode, SslMode::Require) {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = ca_file {
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("ONRAMP_DATABASE_CA: cannot read {path}: {e}"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("ONRAMP_DATABASE_CA: {path}: {e}"))?;
            if certs.is_empty() {
                return Err(format!("ONRAMP_DATABASE_CA: no certificate in {path}"));
            }
            for cert in certs {
                roots
                    .add(cert)
                    .map_err(|e| format!("ONRAMP_DATABASE_CA: {path}: {e}"))?;
            }
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth()
    };
    Ok(MakeRustlsConnect::new(config))
}

/// libpq's `prefer`: the connection is encrypted, the certificate taken as
/// it comes (the signatures of the handshake are still checked).
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
